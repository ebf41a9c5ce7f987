"""A real browser: enrol the terminal, log in with password and TOTP, let the screen blank
itself, unlock it; reload while locked and find the server keeps it locked."""

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessLogEntry
from audit.services import terminal_register_direct

PASSWORD = "Test-Passw0rd!x"


def _wait_for_focus(page, field: str) -> None:
    page.wait_for_function(f"document.activeElement && document.activeElement.name === '{field}'")


def _token(operator) -> str:
    device = TOTPDevice.objects.get(user=operator)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


@pytest.mark.django_db(transaction=True)
def test_login_with_totp_blank_screen_and_unlock(live_server, page, screenshot, make_operator, settings):
    settings.SCREEN_BLANK_SECONDS = 2
    operator = make_operator("gyomu", login_id="browser01", full_name="佐藤 花子")
    TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    issued = terminal_register_direct(name="ブラウザ試験端末", place="試験室")

    # An unregistered browser sees no staff page.
    page.goto(f"{live_server.url}/login")
    assert "この端末は登録されていません" in page.content()

    page.goto(f"{live_server.url}/terminal/enroll")
    _wait_for_focus(page, "code")  # the code field has focus: no mouse needed
    page.keyboard.type(issued.enrolment_code)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=端末を登録しました")

    page.goto(f"{live_server.url}/login")
    _wait_for_focus(page, "login_id")
    page.keyboard.type("browser01")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    screenshot("01-login")
    page.keyboard.press("Enter")
    page.wait_for_url("**/login/otp")
    _wait_for_focus(page, "token")
    page.keyboard.type(_token(operator))
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('メニュー')")
    screenshot("02-menu")

    # Idle: the overlay covers the page and the content is hidden.
    page.wait_for_selector("#screen-lock", state="visible", timeout=10_000)
    assert page.locator("main").evaluate("el => getComputedStyle(el).visibility") == "hidden"
    screenshot("03-blanked")

    page.fill("#screen-lock-password", "wrong-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-lock-error:has-text('パスワードが正しくありません')")
    page.fill("#screen-lock-password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-lock", state="hidden")
    assert page.locator("main").evaluate("el => getComputedStyle(el).visibility") == "visible"

    # Locked again, a reload does not reveal the page: the server keeps the lock.
    page.wait_for_selector("#screen-lock", state="visible", timeout=10_000)
    page.reload()
    assert "画面をロックしています" in page.content()
    screenshot("04-locked-after-reload")
    page.fill("#unlock-password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('メニュー')")

    actions = set(AccessLogEntry.objects.filter(actor="browser01").values_list("action", flat=True))
    assert {"login", "screen.lock", "screen.unlock", "screen.unlock_failed"} <= actions
