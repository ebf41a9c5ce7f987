"""Prior approval of large outputs (大量のデータ出力の事前承認), shared by batch provision and the
exports of the operations issue: only a system administrator decides, never the requester
(the service and the database), once, and every step is logged; the staff pages answer the
roles of audit/permissions.py."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.approvals import (
    ApprovalAlreadyDecided,
    ApprovalSelfDecision,
    approval_decide,
    approval_request,
)
from audit.models import AccessLogEntry, OutputApproval
from jukinet.errors import InvalidInput, PermissionRefused


def _request(requested_by: str = "teikyo-1", **fields) -> OutputApproval:
    values = {
        "kind": "batch_provision",
        "subject": "B20261101-TEST0001",
        "summary": "本人確認情報 事務 J-911 提供先 税務局 1,000件",
        "row_count": 1000,
        "requested_by": requested_by,
        **fields,
    }
    return approval_request(**values)


# --- The rules, in the service ----------------------------------------------------------------


def test_a_request_is_pending_and_logged(db):
    approval = _request()
    assert approval.state == "pending" and approval.decided_by == "" and approval.decided_at is None
    entry = AccessLogEntry.objects.get(action="approval.request")
    assert entry.target_code == f"approval:{approval.pk}" and "1000件" in entry.detail


def test_an_unknown_kind_or_an_empty_summary_is_refused(db):
    with pytest.raises(InvalidInput):
        _request(kind="everything")
    with pytest.raises(InvalidInput):
        _request(summary="  ")
    assert not OutputApproval.objects.exists()


def test_a_system_administrator_approves_once_and_it_is_logged(db, make_operator):
    admin = make_operator("sysadmin")
    approval = _request()
    decided = approval_decide(approval=approval, operator=admin, approve=True, note="暗号化媒体で手渡し")
    assert decided.state == "approved" and decided.decided_by == admin.login_id and decided.decided_at
    assert decided.decision_note == "暗号化媒体で手渡し"
    entry = AccessLogEntry.objects.get(action="approval.approve")
    assert entry.actor == "" or entry.target_code == f"approval:{approval.pk}"
    with pytest.raises(ApprovalAlreadyDecided):
        approval_decide(approval=approval, operator=make_operator("sysadmin"), approve=False, note="やはり却下")
    approval.refresh_from_db()
    assert approval.state == "approved" and approval.decided_by == admin.login_id


@pytest.mark.parametrize("role", ["teikyo", "auditor", "secadmin", "gyomu", "kaiji"])
def test_only_a_system_administrator_decides(db, make_operator, role):
    approval = _request()
    with pytest.raises(PermissionRefused):
        approval_decide(approval=approval, operator=make_operator(role), approve=True)
    approval.refresh_from_db()
    assert approval.state == "pending"
    assert not AccessLogEntry.objects.filter(action__in=["approval.approve", "approval.reject"]).exists()


def test_the_requester_never_decides_their_own_request(db, make_operator):
    both = make_operator("sysadmin", "teikyo")  # one person holding both roles
    approval = _request(requested_by=both.login_id)
    with pytest.raises(ApprovalSelfDecision):
        approval_decide(approval=approval, operator=both, approve=True)
    approval.refresh_from_db()
    assert approval.state == "pending"


def test_the_database_refuses_a_decision_by_the_requester(db):
    approval = _request(requested_by="sys-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutputApproval.objects.filter(pk=approval.pk).update(
            state="approved", decided_by="sys-1", decided_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # nor a decision without a decider
        OutputApproval.objects.filter(pk=approval.pk).update(state="approved")


def test_a_rejection_needs_a_reason(db, make_operator):
    admin = make_operator("sysadmin")
    approval = _request()
    with pytest.raises(InvalidInput) as refused:
        approval_decide(approval=approval, operator=admin, approve=False, note=" ")
    assert refused.value.field == "note"
    with pytest.raises(InvalidInput):
        approval_decide(approval=approval, operator=admin, approve=True, note="x" * 301)
    rejected = approval_decide(approval=approval, operator=admin, approve=False, note="提供先の申請書が未着")
    assert rejected.state == "rejected"
    assert AccessLogEntry.objects.get(action="approval.reject").detail.endswith("提供先の申請書が未着")


# --- The pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("sysadmin", 200), ("teikyo", 200), ("auditor", 200), ("gyomu", 403)])
def test_who_sees_the_list(staff_client, role, status):
    _request()
    response = staff_client(role).get("/approvals/")
    assert response.status_code == status
    if status == 200:
        assert "承認待ち（1件）" in response.content.decode()


def test_the_list_does_not_grow_its_queries_with_the_requests(staff_client):
    browser = staff_client("sysadmin")
    _request(subject="B20261101-AAAAAAA1")
    first = _request(subject="B20261101-AAAAAAA2")
    OutputApproval.objects.filter(pk=first.pk).update(state="approved", decided_by="someone", decided_at=timezone.now())
    with CaptureQueriesContext(connection) as few:
        browser.get("/approvals/")
    for n in range(12):
        approval = _request(subject=f"B20261101-BBBBBB{n:02d}")
        if n % 2:
            OutputApproval.objects.filter(pk=approval.pk).update(
                state="approved", decided_by="someone", decided_at=timezone.now()
            )
    with CaptureQueriesContext(connection) as many:
        browser.get("/approvals/")
    assert len(many) == len(few)


def test_a_system_administrator_approves_on_the_page(staff_client):
    approval = _request()
    browser = staff_client("sysadmin")
    page = browser.get(f"/approvals/{approval.pk}/")
    assert page.status_code == 200 and 'name="decision"' in page.content.decode()
    response = browser.post(f"/approvals/{approval.pk}/decide", {"decision": "approve", "note": ""})
    assert response.status_code == 302 and response["Location"] == f"/approvals/{approval.pk}/"
    approval.refresh_from_db()
    assert approval.state == "approved" and approval.decided_by == browser.operator.login_id
    assert "承認しました" in browser.get(response["Location"]).content.decode()
    again = browser.post(f"/approvals/{approval.pk}/decide", {"decision": "reject", "note": "二度目"})
    assert again.status_code == 409 and "すでに決裁" in again.content.decode()


def test_the_page_needs_a_deliberate_choice_and_a_reason_to_reject(staff_client):
    approval = _request()
    browser = staff_client("sysadmin")
    assert browser.post(f"/approvals/{approval.pk}/decide", {"note": "x"}).status_code == 400
    response = browser.post(f"/approvals/{approval.pk}/decide", {"decision": "reject", "note": ""})
    assert response.status_code == 400 and "却下する場合は理由" in response.content.decode()
    approval.refresh_from_db()
    assert approval.state == "pending"


def test_the_requester_sees_no_decision_form_and_is_refused_if_they_post(staff_client):
    browser = staff_client("sysadmin", "teikyo")
    approval = _request(requested_by=browser.operator.login_id)
    page = browser.get(f"/approvals/{approval.pk}/").content.decode()
    assert "あなたの申請です" in page and 'name="decision"' not in page
    response = browser.post(f"/approvals/{approval.pk}/decide", {"decision": "approve"})
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.state == "pending"
    refusal = AccessLogEntry.objects.get(action="approval.decide", outcome="refused")
    assert refusal.actor == browser.operator.login_id and "E_APPROVAL_SELF" in refusal.detail


@pytest.mark.parametrize("role", ["teikyo", "auditor"])
def test_colleagues_who_may_look_may_not_decide(staff_client, role):
    approval = _request()
    browser = staff_client(role)
    page = browser.get(f"/approvals/{approval.pk}/")
    assert page.status_code == 200 and 'name="decision"' not in page.content.decode()
    assert browser.post(f"/approvals/{approval.pk}/decide", {"decision": "approve"}).status_code == 403
    approval.refresh_from_db()
    assert approval.state == "pending"
    assert AccessLogEntry.objects.filter(actor=browser.operator.login_id, outcome="refused").exists()


def test_an_outsider_reaches_nothing(client, make_operator):
    approval = _request()
    assert client.get("/approvals/").status_code in (302, 403)
    assert client.post(f"/approvals/{approval.pk}/decide", {"decision": "approve"}).status_code in (302, 403)
    approval.refresh_from_db()
    assert approval.state == "pending"


def test_the_menu_offers_the_approvals_to_the_roles_that_may_see_them(staff_client):
    assert "/approvals/" in staff_client("sysadmin").get("/").content.decode()
    assert "/approvals/" not in staff_client("gyomu").get("/").content.decode()
