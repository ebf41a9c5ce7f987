"""Large data outputs from staff pages (大量のデータ出力): prior approval by another system
administrator, production by a worker, copies by system administrators only (each logged),
erasure after the keep time. The access-log CSV is the first kind using it."""

import csv
import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from audit import access_log, context
from audit.exports import export_produce, export_request, exports_sweep
from audit.models import AccessLogEntry, ExportFile, OutputApproval
from tests.conftest import verify_session
from tests.worker_fixtures import private_worker


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.LARGE_OUTPUT_ROWS = 3


@pytest.fixture
def login(enrolled_terminal, settings, make_operator):
    """A fresh browser on the enrolled terminal, logged in as a new operator of ``role``."""

    def make(role: str) -> Client:
        browser = Client()
        browser.cookies[settings.TERMINAL_COOKIE_NAME] = enrolled_terminal[1]
        operator = make_operator(role)
        verify_session(browser, operator)
        browser.operator = operator
        return browser

    return make


def _seed(n: int = 6) -> None:
    with context.acting(actor_kind="operator", actor="someone", terminal="TM0099"):
        for i in range(n):
            access_log.log_event(action="record.view", target_file="honnin", target_code=f"1234567890{i}")


def _ask(browser: Client) -> ExportFile:
    response = browser.get("/audit/log/export", {"actor": "someone"})
    assert response.status_code == 302, response.content[:300]
    export = ExportFile.objects.get()
    assert response["Location"] == f"/exports/{export.export_id}/"
    return export


def _approve(browser: Client, export: ExportFile):
    return browser.post(f"/approvals/{export.approval.pk}/decide", {"decision": "approve", "note": "監査資料"})


@pytest.mark.django_db
def test_a_small_log_export_downloads_at_once(login):
    _seed(2)
    response = login("auditor").get("/audit/log/export", {"actor": "someone"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2
    assert not ExportFile.objects.exists()


@pytest.mark.django_db
def test_a_large_log_export_becomes_a_request_for_prior_approval(login):
    _seed()
    auditor = login("auditor")
    export = _ask(auditor)
    assert export.state == "awaiting" and export.row_count == 6 and export.kind == "audit_log"
    approval = export.approval
    assert approval.kind == "export" and approval.state == "pending" and approval.subject == export.export_id
    assert AccessLogEntry.objects.filter(action="export.request", target_code=f"export:{export.export_id}").exists()
    page = auditor.get(f"/exports/{export.export_id}/").content.decode()
    assert "承認を待っています" in page and "複製する" not in page


@pytest.mark.django_db
def test_the_requester_cannot_approve_their_own_output(login):
    _seed()
    admin = login("sysadmin")
    export = _ask(admin)
    assert _approve(admin, export).status_code == 403
    export.refresh_from_db()
    assert export.state == "awaiting"


@pytest.mark.django_db
def test_approved_produced_copied_by_a_system_administrator_and_each_copy_logged(login):
    _seed()
    auditor = login("auditor")
    export = _ask(auditor)
    # Entries written after the request are not part of it: the file holds what was asked for.
    _seed(2)
    admin = login("sysadmin")
    assert _approve(admin, export).status_code == 302
    export.refresh_from_db()
    assert export.state == "producing"
    assert export_produce(export_id=export.export_id) == "ready"
    export.refresh_from_db()
    path = Path(export.file_path)
    assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert export.size_bytes == path.stat().st_size and len(export.sha256) == 64
    assert export.expires_at > timezone.now()
    # The auditor who asked sees the state, but cannot copy the file.
    assert "作成済み" in auditor.get(f"/exports/{export.export_id}/").content.decode()
    assert auditor.post(f"/exports/{export.export_id}/copy", {"reason": "監査"}).status_code == 403
    # A system administrator copies it, with a reason.
    assert admin.post(f"/exports/{export.export_id}/copy", {"reason": ""}).status_code == 400
    for n in (1, 2):
        response = admin.post(f"/exports/{export.export_id}/copy", {"reason": "監査委員事務局へ暗号化USBで受け渡し"})
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == 6 and {r["action"] for r in rows} == {"record.view"}
        copy = AccessLogEntry.objects.filter(action="export.copy", outcome="ok").order_by("-id").first()
        assert copy.actor == admin.operator.login_id and f"{n}回目" in copy.detail and "暗号化USB" in copy.detail
    assert "2回" in admin.get(f"/exports/{export.export_id}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "gyomu"])
def test_only_system_administrators_copy_and_a_refusal_is_logged(login, role):
    browser = login(role)
    assert browser.post("/exports/X20261101-NOPE0000/copy", {"reason": "持ち出し"}).status_code == 403
    assert AccessLogEntry.objects.filter(action="export.copy", outcome="refused", actor=browser.operator.login_id)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["kaiji", "teikyo", "secadmin"])
def test_roles_without_exports_do_not_see_them(login, role):
    assert login(role).get("/exports/").status_code == 403


@pytest.mark.django_db
def test_a_rejected_output_is_never_produced(login):
    _seed()
    export = _ask(login("auditor"))
    admin = login("sysadmin")
    admin.post(f"/approvals/{export.approval.pk}/decide", {"decision": "reject", "note": "必要性が説明されていない"})
    export.refresh_from_db()
    assert export.state == "rejected"
    assert export_produce(export_id=export.export_id) == "rejected"
    assert not export.file_path


@pytest.mark.django_db
def test_a_changed_or_missing_file_is_not_copied(login):
    _seed()
    export = _ask(login("auditor"))
    admin = login("sysadmin")
    _approve(admin, export)
    export_produce(export_id=export.export_id)
    export.refresh_from_db()
    Path(export.file_path).write_text("改ざん")
    response = admin.post(f"/exports/{export.export_id}/copy", {"reason": "監査"})
    assert response.status_code == 404 and "一致しません" in response.content.decode()
    assert AccessLogEntry.objects.filter(action="export.copy", outcome="refused").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reason", ["x" * 201, "\x00", "   ", "<script>alert(1)</script>" * 10], ids=["long", "nul", "blank", "script"]
)
def test_hostile_copy_reasons_are_refused_cleanly(login, reason):
    _seed()
    export = _ask(login("auditor"))
    admin = login("sysadmin")
    _approve(admin, export)
    export_produce(export_id=export.export_id)
    response = admin.post(f"/exports/{export.export_id}/copy", {"reason": reason})
    assert response.status_code == 400
    assert not AccessLogEntry.objects.filter(action="export.copy", outcome="ok").exists()


@pytest.mark.django_db
def test_the_sweep_erases_expired_files_and_keeps_the_record(login):
    _seed()
    export = _ask(login("auditor"))
    _approve(login("sysadmin"), export)
    export_produce(export_id=export.export_id)
    export.refresh_from_db()
    assert exports_sweep(now=export.expires_at - dt.timedelta(minutes=1))["erased"] == 0
    assert exports_sweep(now=export.expires_at + dt.timedelta(minutes=1))["erased"] == 1
    export.refresh_from_db()
    assert export.state == "erased" and not Path(export.file_path).exists()
    assert AccessLogEntry.objects.filter(action="export.erase", target_code=f"export:{export.export_id}").exists()


@pytest.mark.django_db
def test_an_unknown_kind_or_a_role_without_the_kind_is_refused(make_operator):
    from jukinet.errors import InvalidInput, PermissionRefused

    with pytest.raises(InvalidInput):
        export_request(operator=make_operator("sysadmin"), kind="everything", params={}, summary="全部")
    with pytest.raises(PermissionRefused):
        export_request(operator=make_operator("gyomu"), kind="audit_log", params={}, summary="操作記録")
    assert not ExportFile.objects.exists() and not OutputApproval.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_approved_output_is_produced_by_a_real_celery_worker(login, tmp_path, settings):
    from tests.worker_fixtures import worker_env

    _seed()
    export = _ask(login("auditor"))
    env = worker_env(JUKINET_EXPORT_DIR=str(settings.EXPORT_DIR), JUKINET_LARGE_OUTPUT_ROWS="3")
    with private_worker("exports", ["exports.*"], tmp_path, env=env):
        _approve(login("sysadmin"), export)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            export.refresh_from_db()
            if export.state != "producing":
                break
            time.sleep(0.2)
    assert export.state == "ready", export.error
    assert Path(export.file_path).parent == Path(settings.EXPORT_DIR)
    assert os.path.getsize(export.file_path) == export.size_bytes
