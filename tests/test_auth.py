"""Login with password and TOTP on an enrolled terminal; lockout; first-login password
change; the server-side screen lock; immediate end of a suspended operator's session."""

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessLogEntry, Terminal
from audit.services import identity_suspend, terminal_enrol, terminal_register_direct

PASSWORD = "Test-Passw0rd!x"


def _actions():
    return list(AccessLogEntry.objects.order_by("id").values_list("action", "outcome"))


def _token(operator) -> str:
    device = TOTPDevice.objects.get(user=operator)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    return f"{totp.token():06d}"


@pytest.mark.django_db
def test_an_unregistered_browser_gets_no_staff_page_and_is_logged(client):
    response = client.get("/login")
    assert response.status_code == 403
    assert "この端末は登録されていません" in response.content.decode()
    assert ("terminal.unregistered", "refused") in _actions()


@pytest.mark.django_db
def test_a_forged_terminal_cookie_is_refused(client, settings, enrolled_terminal):
    _, credential = enrolled_terminal
    client.cookies[settings.TERMINAL_COOKIE_NAME] = credential[:-2] + "xx"
    assert client.get("/login").status_code == 403


@pytest.mark.django_db
def test_a_revoked_terminal_is_refused(terminal_client, enrolled_terminal):
    Terminal.objects.filter(pk=enrolled_terminal[0].pk).update(state="revoked")
    assert terminal_client.get("/login").status_code == 403


@pytest.mark.django_db
def test_a_terminal_enrols_with_its_one_time_code(client, settings):
    issued = terminal_register_direct(name="窓口1", place="1階")
    response = client.post("/terminal/enroll", {"code": issued.enrolment_code.lower()})
    assert response.status_code == 200
    assert settings.TERMINAL_COOKIE_NAME in response.cookies
    assert client.get("/login").status_code == 200
    # The code is spent.
    again = client.post("/terminal/enroll", {"code": issued.enrolment_code})
    assert "有効期限" in again.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["", "1234", "ZZZZ-ZZZZ-ZZZZ", "<script>", "A" * 5000, "ＡＢＣＤ-ＥＦ01-2345"])
def test_a_bad_enrolment_code_gets_a_clear_error(client, code):
    response = client.post("/terminal/enroll", {"code": code})
    assert response.status_code == 200
    text = response.content.decode()
    assert "登録コード" in text and "<script>" not in text.split("<main", 1)[1].split("</main>")[0].replace(
        "&lt;script&gt;", ""
    )


@pytest.mark.django_db
def test_an_expired_enrolment_code_is_refused(client):
    issued = terminal_register_direct(name="窓口2", place="1階")
    Terminal.objects.filter(pk=issued.terminal.pk).update(enrolment_expires_at=timezone.now() - dt.timedelta(1))
    with pytest.raises(Exception, match="E_ENROLMENT_CODE"):
        terminal_enrol(code=issued.enrolment_code)


@pytest.mark.django_db
def test_login_needs_the_password_and_then_the_totp_code(terminal_client, make_operator):
    operator = make_operator("gyomu", login_id="tanaka01")
    TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    response = terminal_client.post("/login", {"login_id": "tanaka01", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/login/otp"
    # Password alone opens nothing.
    assert terminal_client.get("/").status_code == 302
    response = terminal_client.post("/login/otp", {"token": _token(operator)})
    assert response.status_code == 302
    assert terminal_client.get("/").status_code == 200
    actions = _actions()
    assert ("login.password", "ok") in actions and ("login", "ok") in actions
    entry = AccessLogEntry.objects.get(action="login")
    assert entry.actor == "tanaka01" and entry.terminal.startswith("TM")


@pytest.mark.django_db
def test_a_wrong_totp_code_is_refused_and_logged(terminal_client, make_operator):
    operator = make_operator("gyomu", login_id="tanaka02")
    TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    terminal_client.post("/login", {"login_id": "tanaka02", "password": PASSWORD})
    wrong = f"{(int(_token(operator)) + 1) % 1_000_000:06d}"
    response = terminal_client.post("/login/otp", {"token": wrong})
    assert "確認コードが正しくありません" in response.content.decode()
    assert ("login.otp_failed", "failed") in _actions()
    response = terminal_client.post("/login/otp", {"token": "12ab"})
    assert "6桁の数字" in response.content.decode()


@pytest.mark.django_db
def test_repeated_failures_lock_the_id_even_for_the_right_password(terminal_client, make_operator, settings):
    make_operator("gyomu", login_id="suzuki01")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = terminal_client.post("/login", {"login_id": "suzuki01", "password": "wrong-password"})
    response = terminal_client.post("/login", {"login_id": "suzuki01", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert "ロック" in response.content.decode()
    assert ("login.failed", "failed") in _actions()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"login_id": "x" * 10_000, "password": "p"},
        {"login_id": "a\x00b", "password": "p"},
        {"login_id": ["a", "b"]},
    ],
    ids=["empty", "oversized", "nul", "list"],
)
def test_malformed_login_input_gets_a_page_not_a_500(terminal_client, data):
    response = terminal_client.post("/login", data)
    assert response.status_code in (200, 403)


@pytest.mark.django_db
def test_a_first_login_must_change_the_password(staff_client):
    client = staff_client("gyomu", must_change_password=True)
    assert client.get("/")["Location"] == "/password/change"
    weak = client.post(
        "/password/change", {"old_password": PASSWORD, "new_password": "password", "new_password_again": "password"}
    )
    assert "12文字以上" in weak.content.decode() or "短すぎ" in weak.content.decode()
    client.operator.refresh_from_db()
    assert client.operator.must_change_password
    strong = "Neu-Kennwort-2026!"
    done = client.post(
        "/password/change", {"old_password": PASSWORD, "new_password": strong, "new_password_again": strong}
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    client.operator.refresh_from_db()
    assert client.operator.check_password(strong) and not client.operator.must_change_password


@pytest.mark.django_db
def test_the_locked_screen_is_enforced_by_the_server(staff_client):
    client = staff_client("gyomu")
    assert client.post("/lock").json() == {"locked": True}
    locked = client.get("/")
    assert locked.status_code == 423 and "画面をロック" in locked.content.decode()
    wrong = client.post("/unlock", {"password": "nope"}, HTTP_ACCEPT="application/json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "E_UNLOCK_PASSWORD"
    right = client.post("/unlock", {"password": PASSWORD}, HTTP_ACCEPT="application/json")
    assert right.json() == {"locked": False}
    assert client.get("/").status_code == 200
    assert [a for a, _ in _actions() if a.startswith("screen.")] == [
        "screen.lock",
        "screen.unlock_failed",
        "screen.unlock",
    ]


@pytest.mark.django_db
def test_a_suspended_operator_is_out_at_the_next_request(staff_client, make_operator):
    client = staff_client("gyomu")
    security = make_operator("secadmin")
    assert client.get("/").status_code == 200
    identity_suspend(
        actor=security, subject_kind="operator", subject_id=client.operator.login_id, reason="不正利用の疑い"
    )
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login")


@pytest.mark.django_db
def test_logout_ends_the_session_and_is_logged(staff_client):
    client = staff_client("gyomu")
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302
    assert ("logout", "ok") in _actions()


@pytest.mark.django_db
def test_the_idle_blanking_script_is_on_every_staff_page(staff_client, settings):
    settings.SCREEN_BLANK_SECONDS = 123
    page = staff_client("gyomu").get("/").content.decode()
    assert 'data-blank-seconds="123"' in page and "idle.js" in page and 'id="screen-lock"' in page
