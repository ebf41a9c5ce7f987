"""The OpenAPI schema of the machine APIs (issue 6 item 5, docs/openapi.md): it generates without
a warning, validates as OpenAPI 3, describes every endpoint under /api/ with the bearer scheme
and the error shape of API.md, and is served to machine clients only."""

import json
import re

import jsonschema
import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats

from audit.models import IdentityState, MachineClient
from audit.services import client_issue_direct
from jukinet.openapi import ERROR_DETAIL_SCHEMA, ERROR_SCHEMA
from provision.models import Duty

SCHEMA = "/api/schema/"
CS_PATHS = {"/api/cs/v1/{file}/notices", "/api/cs/v1/{file}/notices/{notice_id}"}
METHODS = {"get", "post", "put", "patch", "delete"}
# The Error component with its ErrorDetail reference resolved, for validating real bodies.
ERROR_BODY = {**ERROR_SCHEMA, "properties": {"error": ERROR_DETAIL_SCHEMA}}


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")


@pytest.fixture
def body(db):
    Duty.objects.get_or_create(
        code="J-991",
        defaults={
            "name": "スキーマ試験の事務",
            "legal_basis": "試験条例",
            "files": ["honnin"],
            "items": ["juminhyo_code"],
        },
    )
    return client_issue_direct(kind="body", name="教育委員会", duty_codes=["J-991"])


def fetch(client, token: str | None, **query):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(SCHEMA, query, **headers)


@pytest.fixture
def schema(client, cs) -> dict:
    response = fetch(client, cs.token, format="json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def api_routes() -> set[str]:
    """Every URL under /api/ as OpenAPI writes it (``<str:file>`` → ``{file}``)."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        for route in walk(get_resolver().url_patterns)
        if route.startswith("api/")
    }


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


# --- Generation and validation -----------------------------------------------------------------


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    """What `manage.py spectacular --validate --fail-on-warn` checks, in the test run."""
    reset_generator_stats()
    target = tmp_path / "schema.json"
    try:
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))
    except Exception as exc:
        problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]  # what to annotate, and where
        pytest.fail(f"{exc}\n" + "\n".join(problems))
    finally:
        reset_generator_stats()
    assert json.loads(target.read_text())["openapi"].startswith("3.")


@pytest.mark.django_db
def test_every_api_endpoint_is_described(schema):
    assert set(schema["paths"]) >= CS_PATHS
    assert api_routes() <= set(schema["paths"]), api_routes() - set(schema["paths"])
    assert all(path.startswith("/api/") for path in schema["paths"])  # no staff page leaks in
    for path, method, operation in operations(schema):
        assert operation.get("operationId"), (path, method)
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, f"{method} {path} documents no success response"
        for code in success:  # every endpoint answers with a body: it must be described
            assert operation["responses"][code].get("content"), f"{method} {path} {code} has no described body"


@pytest.mark.django_db
def test_every_operation_takes_the_bearer_token_and_answers_errors_in_the_api_md_shape(schema):
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth"}
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert schema["components"]["schemas"]["Error"] == ERROR_SCHEMA
    assert schema["components"]["schemas"]["ErrorDetail"] == ERROR_DETAIL_SCHEMA
    for path, method, operation in operations(schema):
        assert operation["security"] == [{"bearerAuth": []}], (path, method)  # no anonymous alternative
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                media = response["content"]["application/json"]["schema"]
                assert media == {"$ref": "#/components/schemas/Error"}, (path, method, code)
        assert {"400", "401", "403", "404"} <= set(operation["responses"]), (path, method)


@pytest.mark.django_db
def test_the_cs_endpoints_describe_their_bodies(schema):
    post = schema["paths"]["/api/cs/v1/{file}/notices"]["post"]
    file_param = next(p for p in post["parameters"] if p["name"] == "file")
    assert sorted(file_param["schema"]["enum"]) == ["fuhyo", "honnin"]
    request = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    notices = schema["components"]["schemas"][request]["properties"]["notices"]
    assert (notices["minItems"], notices["maxItems"]) == (1, 1000)
    assert {"202", "413", "415"} <= set(post["responses"])
    answer = post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][answer]["required"]) == {"accepted", "rejected"}

    get = schema["paths"]["/api/cs/v1/{file}/notices/{notice_id}"]["get"]
    status = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    state = schema["components"]["schemas"][status]["properties"]["state"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][state]["enum"] == ["pending", "held", "applied", "rejected"]


# --- Who may read it ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_any_active_machine_client_may_read_the_schema(client, cs, body):
    for issued in (cs, body):
        response = fetch(client, issued.token, format="json")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    yaml = fetch(client, cs.token)
    assert yaml.status_code == 200 and yaml.content.startswith(b"openapi: 3")


@pytest.mark.django_db
def test_without_a_valid_token_the_schema_is_a_401_in_the_error_shape(client, cs, staff_client):
    MachineClient.objects.filter(pk=cs.client.pk).update(state=IdentityState.REVOKED)
    for token in (None, "not-a-token", cs.token):
        response = fetch(client, token, format="json")
        assert response.status_code == 401, token
        assert response["WWW-Authenticate"].startswith("Bearer")
        body = json.loads(response.content)
        jsonschema.validate(body, ERROR_BODY)
        assert body["error"]["code"] == "E_UNAUTHENTICATED"
    # Staff never reach machine endpoints, not even with a verified session on a terminal.
    assert staff_client("sysadmin").get(SCHEMA).status_code == 401


@pytest.mark.django_db
def test_a_real_error_body_matches_the_error_component(client, cs):
    response = client.post(
        "/api/cs/v1/nosuchfile/notices",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {cs.token}",
    )
    assert response.status_code == 404
    jsonschema.validate(json.loads(response.content), ERROR_BODY)
