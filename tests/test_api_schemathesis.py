"""Schemathesis against the served schema (issue 6 item 5, docs/openapi.md).

The schema is read from /api/schema/ and every operation in it is called through the real WSGI
application (middleware, authentication, services, PostgreSQL) with requests generated from the
schema: valid ones and invalid ones. Each request goes once with the client the endpoint is for
(a 市町村CS for /api/cs/, an executive body for the rest) and once with the other one.

What must hold for every response: never a 5xx, and every 4xx in the error shape of API.md; a
documented response matches its documented schema.

The national mock is started by the ``national`` fixture (tests/national_fixtures.py): a lookup
that finds nobody in this prefecture's file asks it, so without it every such lookup would be a
503 "national server unavailable" rather than a real answer. Bounded: few examples per operation,
derandomised (the same requests every run), no example database, a deadline per example.
"""

import random
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from audit.services import client_issue_direct
from jukinet.codes import generate_juminhyo_code, generate_my_number
from provision.models import Duty, ProvisionItem

DUTY = "J-990"  # a duty of this test's own, never one of the seeded registry
MAX_EXAMPLES = 20


def _duty() -> Duty:
    duty, _ = Duty.objects.get_or_create(
        code=DUTY,
        defaults={
            "name": "API試験の事務",
            "legal_basis": "試験条例第1条",
            "files": ["honnin", "fuhyo"],
            "items": list(ProvisionItem.values),
            "my_number_allowed": True,
        },
    )
    return duty


@pytest.fixture
def api_tokens(national):
    """Bearer tokens of a 市町村CS and of an executive body holding a registered duty."""
    _duty()
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    body = client_issue_direct(kind="body", name="教育委員会", duty_codes=[DUTY])
    return {"cs": cs.token, "body": body.token}


# Values the server accepts, for the keys that guard the deeper paths: the duty the body client
# holds, and codes with valid check digits (nobody has them here, so a lookup asks the national mock).
_RNG = random.Random(6)
REALISTIC = {
    "duty_code": DUTY,
    "juminhyo_code": generate_juminhyo_code(_RNG),
    "my_number": generate_my_number(_RNG),
}


def _realistic(value):
    """Half of the generated bodies and queries get REALISTIC values (for the keys they have, and
    for the key their ``by`` names), so that they reach past the duty and format checks into the
    lookup and the batch themselves."""
    if not isinstance(value, dict) or not (value.keys() & {*REALISTIC, "by"}):
        return st.just(value)
    realistic = {**value, **{k: v for k, v in REALISTIC.items() if k in value}}
    if "by" in value:
        realistic["duty_code"] = DUTY
        if value["by"] in REALISTIC:
            realistic[value["by"]] = REALISTIC[value["by"]]
    return st.sampled_from([realistic, value])


@pytest.fixture
def api_schema(api_tokens):
    from django.core.wsgi import get_wsgi_application

    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        get_wsgi_application(),
        headers={"Authorization": f"Bearer {api_tokens['cs']}"},
    )
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        database="none",
        deterministic=True,
    )
    schema.hook("flatmap_body")(lambda context, body: _realistic(body))
    schema.hook("flatmap_query")(lambda context, query: _realistic(query))
    return schema


def error_bodies_have_the_api_md_shape(ctx, response, case):
    """Every 4xx: {"error": {"code": "E_…", "message": "日本語", "field"?: "…"}} and nothing else."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json"), f"{response.status_code} with Content-Type {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["code"], str) and error["code"].startswith("E_"), error
    assert isinstance(error["message"], str) and error["message"], error
    assert any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in error["message"]), (
        f"the message should be Japanese: {error['message']!r}"
    )
    assert error.get("field") is None or isinstance(error["field"], str), error
    return None


OWN_CHECKS = [not_a_server_error, error_bodies_have_the_api_md_shape, response_schema_conformance]
OTHER_CHECKS = [not_a_server_error, error_bodies_have_the_api_md_shape]
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=5000,  # ms per example (two requests); a lookup may ask the national mock
    derandomize=True,
    database=None,
    suppress_health_check=[
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.data_too_large,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.large_base_example,
    ],
)


def _strategy(operation):
    """Valid requests, invalid ones, and the schema's own examples, mixed."""
    strategies = operation.get_strategies_from_examples()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(mode))
    return st.one_of(strategies)


def _exercise(operation, tokens: dict, seen: Counter):
    """The property for one operation: both clients' answers pass the checks."""
    own, other = ("cs", "body") if operation.path.startswith("/api/cs/") else ("body", "cs")

    @SETTINGS
    @hypothesis.given(case=_strategy(operation))
    def exercise(case):
        response = case.call(headers={"Authorization": f"Bearer {tokens[own]}"})
        seen[(operation.label, own, response.status_code)] += 1
        case.validate_response(response, checks=OWN_CHECKS)
        response = case.call(headers={"Authorization": f"Bearer {tokens[other]}"})
        seen[(operation.label, other, response.status_code)] += 1
        case.validate_response(response, checks=OTHER_CHECKS)

    return exercise


# Schemathesis' pytest plugin (``from_fixture`` / ``parametrize``) relies on pytest internals that
# pytest 9.2 changed (``Function._nodeid``); its documented ``as_strategy`` with ``@given`` does not.
@pytest.mark.slow
def test_the_api_answers_generated_requests_without_a_server_error(api_schema, api_tokens):
    failures, tried, seen = [], [], Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()  # a schema error raises here, which fails the test as it should
        tried.append(operation.label)
        try:
            _exercise(operation, api_tokens, seen)()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    print("\n".join(f"{n:4d}  {label} as {who}: {status}" for (label, who, status), n in sorted(seen.items())))
    assert not failures, "\n\n".join(failures)
    # The run reached the endpoints, not only the authentication in front of them.
    assert set(tried) >= {"POST /api/cs/v1/{file}/notices", "GET /api/cs/v1/{file}/notices/{notice_id}"}, tried
    assert seen[("POST /api/cs/v1/{file}/notices", "cs", 202)] > 0, seen
    lookup = api_schema.raw_schema["paths"].get("/api/provision/v1/{file}/lookup", {}).get("post", {})
    if "requestBody" in lookup:  # once the lookup body is described, some lookups get an answer
        assert seen[("POST /api/provision/v1/{file}/lookup", "body", 200)] > 0, seen
    for label in tried:
        own = "cs" if label.split(" ")[1].startswith("/api/cs/") else "body"
        assert sum(n for (lbl, who, _), n in seen.items() if lbl == label and who == own) >= MAX_EXAMPLES // 2, label
