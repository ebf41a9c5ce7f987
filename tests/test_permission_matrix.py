"""Every URL of the project against every role: the server enforces audit/permissions.py.

A staff page declares its action with ``audit.views_support.staff_view``; a URL that is
neither declared nor in the short list of pre-login/machine pages below fails this test, so
no page can be added without a decision about who may use it.
"""

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AccessLogEntry, GrantReview, IdApplication, Role
from audit.permissions import MATRIX
from audit.services import client_issue_direct, terminal_register_direct
from disclosure.models import CorrectionRequest, DisclosureRequest, Inquiry, ProvisionStatusRequest
from provision.models import Duty

# Pages every visitor of an enrolled terminal may reach before or around login, machine
# endpoints, and the liveness probe. Everything else must declare an action.
UNDECLARED_BY_DESIGN = {
    "login",
    "login_otp",
    "logout",
    "lock",
    "unlock",
    "terminal_enrol",
    "healthz",
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _declared_action(callback):
    return getattr(callback, "staff_action", None) or getattr(callback, "required_action", None)


def _all_patterns():
    # Machine endpoints (/api/) authenticate clients by token; tests/test_api_*.py cover them.
    return [(route, p) for route, p in _walk(get_resolver().url_patterns) if not route.startswith("api/")]


def test_every_url_declares_who_may_use_it():
    undeclared = [
        route
        for route, pattern in _all_patterns()
        if _declared_action(pattern.callback) is None and pattern.name not in UNDECLARED_BY_DESIGN
    ]
    assert undeclared == []


def test_every_declared_action_is_in_the_matrix():
    for route, pattern in _all_patterns():
        action = _declared_action(pattern.callback)
        if action is not None:
            assert action in MATRIX, route


@pytest.fixture
def sample_objects(make_operator):
    """One object of each kind, so that every URL with parameters can be filled in."""
    other = make_operator("gyomu", login_id="matrix-target")
    filer = make_operator("secadmin", login_id="matrix-filer")
    terminal = terminal_register_direct(name="行列試験端末", place="試験室").terminal
    client = client_issue_direct(kind="cs", name="試験CS", municipality_code="112011").client
    application = IdApplication.objects.create(
        kind="issue",
        subject_kind="terminal",
        applicant_name="申請 太郎",
        applicant_staff_number="A0001",
        applicant_department="市町村課",
        applied_on=dt.date(2026, 11, 1),
        reason="増設",
        particulars={"name": "窓口端末", "place": "1階"},
        filed_by=filer,
    )
    review = GrantReview.objects.create(period_label="2026年度上期", snapshot={}, created_by=filer)
    duty = Duty.objects.create(
        code="J-900", name="行列試験の事務", legal_basis="試験条例第1条", files=["honnin"], items=["juminhyo_code"]
    )
    # The desk's correction requests and inquiry log (disclosure/urls_corrections.py, urls_inquiries.py).
    correction = CorrectionRequest.objects.create(
        request_no="訂正2026-999999",
        file="honnin",
        channel="counter",
        received_on=dt.date(2026, 11, 1),
        received_by="matrix-filer",
        requester_name="行列 花子",
        relation="self",
        id_document="driver_license",
        juminhyo_code="12345678901",
        kind="correct",
        item="address",
        requested_value="行列試験の値",
    )
    inquiry = Inquiry.objects.create(
        inquiry_no="問2026-999999",
        received_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC),
        received_by="matrix-filer",
        channel="phone",
        inquirer_kind="resident",
        subject="行列試験の問合せ",
    )
    # The desk's disclosure and provision-status requests (disclosure/urls.py).
    desk_fields = {
        "file": "honnin",
        "channel": "counter",
        "received_on": dt.date(2026, 11, 1),
        "received_by": "matrix-filer",
        "requester_name": "行列 花子",
        "relation": "self",
        "id_document": "driver_license",
        "subject_name": "行列　花子",
        "subject_name_kana": "ギョウレツ　ハナコ",
        "subject_birth_date": dt.date(1980, 1, 1),
        "subject_sex": "2",
        "subject_address": "埼玉県川越市元町一丁目１番１号",
    }
    disclosure = DisclosureRequest.objects.create(request_no="開示2026-999999", **desk_fields)
    provision_status = ProvisionStatusRequest.objects.create(
        request_no="提供状況2026-999999", period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 11, 1), **desk_fields
    )
    return {
        "login_id": other.login_id,
        "operator": other.login_id,
        "terminal_id": terminal.terminal_id,
        "client_id": client.client_id,
        "subject_kind": "operator",
        "subject_id": other.login_id,
        "pk": application.pk,
        "application_id": application.pk,
        "review_id": review.pk,
        "id": application.pk,
        "file": "honnin",
        "notice_id": "sample-notice",
        "batch_id": "B20261101-SAMPLE00",
        "duty_code": duty.code,
        "correction_pk": correction.pk,
        "inquiry_pk": inquiry.pk,
        "disclosure_pk": disclosure.pk,
        "provision_status_pk": provision_status.pk,
        # Operations pages (issue 8): objects that need not exist (an allowed role gets a 404).
        "check_id": "C20261101-SAMPLE00",
        "backup_pk": 999999,
        "export_id": "X20261101-SAMPLE00",
        "run_pk": 999999,
        "report": "after_hours",
    }


def _fill(route: str, pattern: URLPattern, values: dict) -> str:
    kwargs = {name: values[name] for name in pattern.pattern.regex.groupindex}
    path = "/" + route
    for name, value in kwargs.items():
        for converter in ("int", "str", "slug", "path", ""):
            token = f"<{converter}:{name}>" if converter else f"<{name}>"
            path = path.replace(token, str(value))
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_staff_url_against_every_role(staff_client, sample_objects, role):
    client = staff_client(role)
    login_id = client.operator.login_id
    checked = 0
    for route, pattern in _all_patterns():
        action = _declared_action(pattern.callback)
        if action is None:
            continue
        path = _fill(route, pattern, sample_objects)
        allowed = role in MATRIX[action]
        before = AccessLogEntry.objects.filter(actor=login_id, outcome="refused").count()
        # GET for pages; POST for actions (an allowed POST with an empty form is a 4xx form
        # error or a redirect, never a 403; a refused one is a 403 before any work).
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if response.status_code == 405:
                continue
            assert response.status_code != 500, (method, path)
            if allowed:
                assert response.status_code != 403, (role, method, path)
            else:
                assert response.status_code == 403, (role, method, path)
            checked += 1
        if not allowed:
            after = AccessLogEntry.objects.filter(actor=login_id, outcome="refused").count()
            assert after > before, f"refusal of {path} for {role} was not logged"
        # A refused or mistaken POST must not have locked the screen or logged us out.
        client.operator.refresh_from_db()
        assert client.operator.is_active
    assert checked > 0


@pytest.mark.django_db
def test_an_operator_without_a_terminal_reaches_no_staff_url(client, sample_objects, make_operator):
    from tests.conftest import verify_session

    verify_session(client, make_operator("sysadmin"))
    for route, pattern in _all_patterns():
        if _declared_action(pattern.callback) is None:
            continue
        assert client.get(_fill(route, pattern, sample_objects)).status_code == 403, route


@pytest.mark.django_db
def test_an_anonymous_visitor_on_a_terminal_is_sent_to_login(terminal_client, sample_objects):
    for route, pattern in _all_patterns():
        if _declared_action(pattern.callback) is None:
            continue
        response = terminal_client.get(_fill(route, pattern, sample_objects))
        assert response.status_code == 302 and response["Location"].startswith("/login"), route
