"""The whole ID life cycle as a newcomer runs it from docs/operators.md: bootstrap the first
administrator, enrol a terminal, log in with TOTP, file and approve applications, revoke an
ID; every step is in the access log, the chain verifies, and tampering is pinpointed."""

import base64
import datetime as dt
import html
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django_otp.oath import TOTP

from audit.log_chain import seal_pending
from audit.models import AccessLogEntry, IdApplication, Operator, RemovalRecord

NEW_PASSWORD = "Kaisha-Hiraku-2026!"


def _run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def _field(text: str, label: str) -> str:
    return re.search(rf"{label}\s*:\s*(\S+)", text).group(1)


def _secrets(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<span class="secret">([^<]+)</span>', page)]


def _totp(secret_b32: str) -> str:
    key = base64.b32decode(secret_b32.replace(" ", ""))
    return f"{TOTP(key).token():06d}"


def _login(client: Client, login_id: str, password: str, secret: str, *, first: bool) -> None:
    response = client.post("/login", {"login_id": login_id, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post("/login/otp", {"token": _totp(secret)})
    assert response.status_code == 302
    if first:
        assert client.get("/")["Location"] == "/password/change"
        response = client.post(
            "/password/change",
            {"old_password": password, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
        )
        assert response.status_code == 302
    assert client.get("/").status_code == 200


def _applicant(**extra) -> dict:
    return {
        "applicant_name": "総務 課長",
        "applicant_staff_number": "A9001",
        "applicant_department": "市町村課",
        "applied_on": dt.date.today().isoformat(),
        "reason": "人事異動による配置",
        **extra,
    }


def _issue_operator(admin: Client, login_id: str, staff_number: str, role: str) -> tuple[str, str]:
    response = admin.post(
        "/console/applications/new/operator/",
        _applicant(
            login_id=login_id,
            staff_number=staff_number,
            full_name="新任 職員",
            department="市町村課",
            roles=[role],
            duties=["honnin"],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    application = IdApplication.objects.get(particulars__login_id=login_id)
    page = admin.post(f"/console/applications/{application.pk}/approve/")
    assert page.status_code == 200 and page["Cache-Control"].startswith("no-store")
    password, secret = _secrets(page.content.decode())[:2]
    return password, secret


@pytest.mark.django_db
def test_the_id_life_cycle_end_to_end(settings, tmp_path):
    # 1. The first system administrator, at the server console.
    out = _run(
        "bootstrap_admin", "--login-id", "admin01", "--staff-number", "100001", "--name", "山田 太郎",
        "--department", "市町村課",
    )  # fmt: skip
    admin_password, admin_secret = _field(out, "初期パスワード"), _field(out, "TOTP秘密鍵")
    with pytest.raises(CommandError, match="既に存在"):
        _run("bootstrap_admin", "--login-id", "admin02", "--staff-number", "100002", "--name", "x", "--department", "y")

    # 2. The first terminal, enrolled from its browser with the one-time code.
    code = _field(_run("enroll_terminal", "--name", "市町村課1", "--place", "本庁舎3階"), "端末登録コード")
    admin = Client()
    assert admin.post("/terminal/enroll", {"code": code}).status_code == 200
    terminal_cookie = admin.cookies[settings.TERMINAL_COOKIE_NAME].value

    def on_terminal() -> Client:
        client = Client()
        client.cookies[settings.TERMINAL_COOKIE_NAME] = terminal_cookie
        return client

    # 3. Log in with password and TOTP; the first login changes the password.
    _login(admin, "admin01", admin_password, admin_secret, first=True)

    # 4. Applications filed and approved: a security administrator and a 業務担当者.
    sec_password, sec_secret = _issue_operator(admin, "sec01", "200001", "secadmin")
    staff_password, staff_secret = _issue_operator(admin, "gyomu01", "300001", "gyomu")
    security, staff = on_terminal(), on_terminal()
    _login(security, "sec01", sec_password, sec_secret, first=True)
    _login(staff, "gyomu01", staff_password, staff_secret, first=True)

    # 業務担当者 cannot reach the console.
    assert staff.get("/console/").status_code == 403

    # 5. Revocation: the security administrator files, the system administrator executes.
    response = security.post("/console/applications/revoke/operator/gyomu01/", _applicant(reason="退職"))
    assert response.status_code == 302, response.content.decode()[:2000]
    revocation = IdApplication.objects.get(kind="revoke")
    assert admin.post(f"/console/applications/{revocation.pk}/approve/").status_code in (200, 302)
    assert Operator.objects.get(login_id="gyomu01").state == "revoked"
    assert RemovalRecord.objects.filter(subject_id="gyomu01", action="revoke").exists()
    assert staff.get("/").status_code == 302  # the revoked operator's session is over
    assert on_terminal().post("/login", {"login_id": "gyomu01", "password": NEW_PASSWORD}).status_code == 200

    # 6. Every step is in the log.
    actions = set(AccessLogEntry.objects.values_list("action", flat=True))
    assert {
        "operator.bootstrap",
        "terminal.register",
        "terminal.enrol",
        "login",
        "password.change",
        "application.file",
        "application.approve",
        "login.failed",
    } <= actions
    assert AccessLogEntry.objects.filter(actor="admin01", action="application.approve").count() == 3

    # 7. The chain verifies; then a DBA rewrites one entry and the verifier names it.
    seal_pending()
    out = _run("verify_audit_log")
    assert "正常" in out
    target = AccessLogEntry.objects.filter(action="application.approve").order_by("id").last()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_accesslogentry SET actor = 'someone-else' WHERE id = %s", [target.pk])
    report = io.StringIO()
    with pytest.raises(CommandError, match="改ざん"):
        call_command("verify_audit_log", stdout=report)
    assert re.search(rf"\b{target.pk}\b", report.getvalue()), report.getvalue()
