"""Fuzzing both APIs with schemathesis: every operation of each app's OpenAPI document, as
the network's admin and as an anonymous caller, in-process, inside the test's transaction.

The operations come from the documents the apps build, so new routes are fuzzed as soon as
they exist. Examples are derandomised so that CI runs the same requests every time.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.auth import Role
from shared.settings import Environment, Settings
from tests.fuzz.conftest import Fuzzer
from tests.fuzz.strategies import with_lone_surrogates

#: Generated examples per operation and caller, besides the documents' own examples and
#: schemathesis' coverage cases (boundaries, missing and wrong-typed values), which make up
#: most of the run. ``TEST_FUZZ_EXAMPLES=500`` fuzzes deeper by hand.
MAX_EXAMPLES = int(os.environ.get("TEST_FUZZ_EXAMPLES", "25"))

fuzz_settings = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        # One client and transaction serve all of an operation's examples; each example runs
        # in a savepoint of its own that is rolled back.
        HealthCheck.function_scoped_fixture,
    ],
)


def _schema(factory: object) -> schemathesis.BaseSchema:
    """The OpenAPI document the app builds (no server needed)."""
    app = factory(Settings(environment=Environment.test))  # type: ignore[operator]
    return schemathesis.openapi.from_dict(app.openapi())


profiles = _schema(create_profiles_app)
dialogue = _schema(create_dialogue_app)


@profiles.hook("flatmap_body")
@dialogue.hook("flatmap_body")
def _lone_surrogates(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """JSON bodies also carry lone surrogates (``tests/fuzz/strategies.py``)."""
    return with_lone_surrogates(body)


@schemathesis.serializer("text/csv", "application/vnd.sdmx.data+csv;version=2.0.0")
def _csv(context: schemathesis.SerializationContext, value: object) -> dict[str, bytes]:
    """CSV bodies (figure imports, tidy or SDMX-CSV) are sent as the UTF-8 text generated
    for them."""
    return {"data": value if isinstance(value, bytes) else str(value).encode()}


#: Operations whose bodies are deep documents: generating each example costs seconds (a
#: framework version is four nested levels of constrained objects), so they are fuzzed with
#: fewer examples of their own (``test_deep_documents_answer_as_documented``).
DEEP = "publish_assessment_framework"
deep_settings = settings(fuzz_settings, max_examples=min(MAX_EXAMPLES, 3))
profiles_shallow = profiles.exclude(operation_id=DEEP)


@profiles_shallow.parametrize()
@fuzz_settings
def test_profiles_api_as_admin_answers_as_documented(case: Case, profiles_fuzzer: Fuzzer) -> None:
    profiles_fuzzer.check(case, Role.admin)


@profiles.include(operation_id=DEEP).parametrize()
@deep_settings
def test_deep_documents_answer_as_documented(case: Case, profiles_fuzzer: Fuzzer) -> None:
    profiles_fuzzer.check(case, Role.admin)


@profiles_shallow.parametrize()
@fuzz_settings
def test_profiles_api_as_anonymous_answers_as_documented(
    case: Case, profiles_fuzzer: Fuzzer
) -> None:
    profiles_fuzzer.check(case, None)


@dialogue.parametrize()
@fuzz_settings
def test_dialogue_api_as_admin_answers_as_documented(case: Case, dialogue_fuzzer: Fuzzer) -> None:
    dialogue_fuzzer.check(case, Role.admin)


@dialogue.parametrize()
@fuzz_settings
def test_dialogue_api_as_anonymous_answers_as_documented(
    case: Case, dialogue_fuzzer: Fuzzer
) -> None:
    dialogue_fuzzer.check(case, None)
