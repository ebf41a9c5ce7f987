"""The operations pages in a real Chromium: reached from the menu, styled (their stylesheets
load under the Content-Security-Policy), no policy violation, and worked by keyboard.

Screenshots in test-artifacts/operations-*.png.
"""

import datetime as dt

import pytest

from audit import access_log, context
from audit.models import AccessLogEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def _open_from_menu(page, href: str) -> None:
    page.locator(f"a[href='{href}']").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_auditor_works_through_statistics_review_and_retention(page, live_server, staff_login, artifact):
    problems = _watch_console(page)
    with context.acting(actor_kind="operator", actor="night-owl", terminal="TM0001"):
        for _ in range(3):
            access_log.log_event(action="login.failed", detail="パスワード誤り")
    staff_login("auditor", login_id="auditor-browser", full_name="監査 一郎")
    base = live_server.url

    # 統計: the purpose is typed, Enter produces the tables and charts.
    page.goto(f"{base}/")
    _open_from_menu(page, "/statistics/")
    page.wait_for_selector("h1:has-text('統計')")
    purpose = page.locator("[name=purpose]")
    purpose.focus()
    page.keyboard.type("月次報告（市町村課）")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("dt:has-text('作業内容')")
    artifact("operations-01-statistics")
    assert AccessLogEntry.objects.filter(action="statistics.produce", actor="auditor-browser").exists()

    # ログの点検: the failed logins report has a finding; it is marked reviewed by keyboard.
    page.goto(f"{base}/audit/review/")
    page.wait_for_selector("h1")
    artifact("operations-02-review-index")
    today = dt.date.today()
    page.goto(f"{base}/audit/review/failed_logins/?since={today - dt.timedelta(days=1)}&until={today}")
    artifact("operations-03a-review-failed-logins")
    note = page.locator("textarea[name=note]").first
    note.focus()
    page.keyboard.type("本人に確認済み（パスワード失念）")
    page.locator("button:has-text('確認済みにする')").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("text=確認済み")
    artifact("operations-03-review-marked")
    assert AccessLogEntry.objects.filter(action="log_review.mark", actor="auditor-browser").exists()

    # 保存期間経過による消去の記録 and the grant reviews the review index links to.
    page.goto(f"{base}/retention/")
    page.wait_for_selector("h1:has-text('保存期間経過による消去')")
    artifact("operations-04-retention")
    align = page.evaluate("getComputedStyle(document.querySelector('th.num')).textAlign")
    assert align == "right"  # base.css reached the page
    page.goto(f"{base}/console/reviews/")
    page.wait_for_selector("h1:has-text('権限付与状況の定期確認')")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_the_system_administrator_sees_exports_backups_and_consistency(page, live_server, staff_login, artifact):
    problems = _watch_console(page)
    staff_login("sysadmin", login_id="admin-browser", full_name="管理 花子", duties=["honnin", "fuhyo"])
    base = live_server.url
    for href, heading, name in [
        ("/exports/", "大量データ出力", "operations-05-exports"),
        ("/backups/", "バックアップ", "operations-06-backups"),
        ("/consistency/", "整合性確認", "operations-07-consistency"),
        ("/approvals/", "大量出力の事前承認", "operations-08-approvals"),
    ]:
        page.goto(f"{base}/")
        _open_from_menu(page, href)
        page.wait_for_selector(f"h1:has-text('{heading}')")
        artifact(name)
    # The approvals page's own stylesheet (moved out of an inline <style>) applies.
    page.goto(f"{base}/approvals/")
    assert page.evaluate("getComputedStyle(document.querySelector('th.num')).textAlign") == "right"
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
