"""Bodies DRF's own JSON parser would answer with a 500: here each is a 4xx in API.md's shape."""

import pytest

from audit.services import client_issue_direct


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"notices": []}', "application/json; charset=x-unknown", 415),
        (b'{"notices": []}', "application/json; charset=shift_jis", 415),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b'{"notices": [' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}", "application/json", 400),
        (b'{"notices": [NaN]}', "application/json", 400),
        (b"\xff\xfe{", "application/json", 400),
    ],
    ids=["unknown-charset", "sjis-charset", "deep-array", "deep-object", "nan", "bad-utf8"],
)
def test_hostile_json_bodies_are_a_4xx_with_the_error_shape(client, body, content_type, status):
    issued = client_issue_direct(kind="cs", name="試験CS", municipality_code="112011")
    # generic(): the test client's post() would re-encode the bytes into the declared charset.
    response = client.generic(
        "POST", "/api/cs/v1/honnin/notices", body, content_type, HTTP_AUTHORIZATION=f"Bearer {issued.token}"
    )
    assert response.status_code == status
    assert set(response.json()["error"]) >= {"code", "message"}
