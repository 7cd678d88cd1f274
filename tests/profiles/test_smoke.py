from tests.factories import Api


async def test_demo_cities_are_listed(api: Api) -> None:
    response = await api.get("/v1/cities")
    assert response.status_code == 200, response.text
    codes = [city["code"] for city in response.json()["items"]]
    assert "PTLIS" in codes and "ATVIE" in codes, codes
