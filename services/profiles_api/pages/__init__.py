"""Public HTML pages of profiles: the network's cities, a city's profile, its editions, and
cities compared (``shared.pages`` holds the layout the dialogue's pages share)."""
