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


def test_the_progress_scripts_move_the_bars_and_reload_when_work_finishes(page, live_server, staff_login):
    """poll.js under progress.js (batch provision) and consistency.js (整合性確認)."""
    import io

    from consistency_sets import HONNIN_COLUMNS, csv_body, honnin_row
    from django.utils import timezone
    from people import make_resident, my_number_for

    from audit.services import client_issue_direct
    from jukinet import consistency as consistency_services
    from jukinet.models import ConsistencyCheck
    from provision.models import BatchJob

    problems = _watch_console(page)
    staff_login("gyomu", "teikyo", login_id="progress-browser", duties=["honnin"])
    base = live_server.url

    # 整合性確認: a check received, then compared while the page watches.
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    people = [make_resident(municipality_code="112011", my_number=my_number_for(700 + i)) for i in range(3)]
    body = io.BytesIO(csv_body([honnin_row(p, my_number_for(700 + i)) for i, p in enumerate(people)], HONNIN_COLUMNS))
    check = consistency_services.consistency_receive(file="honnin", client=cs.client, read=body.read, content_length=0)
    ConsistencyCheck.objects.filter(pk=check.pk).update(state="comparing", progress=0.5)
    page.goto(f"{base}/consistency/{check.check_id}/")
    page.wait_for_function("() => document.querySelector('progress').value === 0.5")
    assert consistency_services.consistency_compare(check_id=check.check_id) == "done"
    page.wait_for_selector("text=完了", timeout=20_000)  # reloaded by the script
    assert page.locator("[data-check-live]").count() == 0

    # 一括提供: a running batch whose counter moves, then finishes.
    batch = BatchJob.objects.create(
        batch_id="B20261127-PROGRESS",
        file="honnin",
        duty_code="J-900",
        recipient="試験課",
        submitted_by="progress-browser",
        submitted_at=timezone.now(),
        conditions=b"x",
        row_count=10,
        state="running",
        rows_done=2,
        counts={"provided": 2, "not_found": 0, "failed": 0},
    )
    page.goto(f"{base}/provision/batches/{batch.batch_id}/")
    page.wait_for_selector("[data-batch-live]")
    BatchJob.objects.filter(pk=batch.pk).update(rows_done=7, counts={"provided": 6, "not_found": 1, "failed": 0})
    page.wait_for_function("() => document.querySelector('[data-field=rows]').textContent.trim() === '7/10'")
    BatchJob.objects.filter(pk=batch.pk).update(state="failed", rows_done=7, error_message="試験")
    page.wait_for_function("() => !document.querySelector('[data-batch-live]')", timeout=20_000)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
