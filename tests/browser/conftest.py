"""Browser tests: Playwright driving Debian's headless Chromium against pytest-django's
live server. Screenshots go to test-artifacts/ (kept by CI as evidence)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("JUKINET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Chromium's background services would try the internet; this machine has none.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"Chromium not found at {CHROMIUM}: make test installs it (scripts/ensure_system_packages.sh test)"
            )
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


# --- Staff pages: a browser on an enrolled terminal, logged in with password and TOTP -------

PASSWORD = "Test-Passw0rd!x"


def wait_for_focus(page, field: str) -> None:
    """Wait until the named field has the focus: keys pressed before that would be lost."""
    page.wait_for_function("name => document.activeElement && document.activeElement.name === name", arg=field)


@pytest.fixture
def artifact(page):
    """``artifact("records-01-search")`` → test-artifacts/records-01-search.png (of ``page`` or ``target``)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(name: str, target=None, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=full_page)
        return path

    return shoot


@pytest.fixture
def staff_login(page, live_server, make_operator, enrolled_terminal, settings):
    """``staff_login(role, login_id=…)`` → the operator, logged in on ``page`` by keyboard.

    The terminal is enrolled directly (its cookie is set; test_login_browser.py drives the
    enrolment page), then the login and TOTP pages are typed into like an operator would.
    """
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    page.context.add_cookies(
        [{"name": settings.TERMINAL_COOKIE_NAME, "value": enrolled_terminal[1], "url": live_server.url}]
    )

    def login(*roles: str, login_id: str, **fields):
        operator = make_operator(*roles, login_id=login_id, password=PASSWORD, **fields)
        device = TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
        page.goto(f"{live_server.url}/login")
        wait_for_focus(page, "login_id")
        page.keyboard.type(login_id)
        page.keyboard.press("Tab")
        wait_for_focus(page, "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/login/otp")
        wait_for_focus(page, "token")
        page.keyboard.type(f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('メニュー')")
        return operator

    return login
