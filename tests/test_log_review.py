"""Log review (ログの点検): the six reports over the access log, marking findings, the pages.

Entries are written with chosen times straight into ``AccessLogEntry`` (inserting is what
the append-only table allows). The clock stands at 2026-11-20 (a Friday) for every test;
the week under review is 2026-11-02 (Mon) … 2026-11-08 (Sun), with 文化の日 on 11-03.
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction

from audit import log_review
from audit.log_review import Period, review_mark
from audit.models import AccessLogEntry, ReviewMark
from jukinet.codes import juminhyo_code_check_digit
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
WEEK = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 8))
WEEK_QUERY = {"since": "2026-11-02", "until": "2026-11-08"}
CODE_X = "70000000017"
CODE_Y = "70000000025"
CODE_Z = "70000000033"
CODE_W = "70000000041"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=TOKYO), tick=True):
        yield


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def entry(actor: str, action: str, when: dt.datetime, *, target: str = "", outcome: str = "ok", kind="operator", **kw):
    return AccessLogEntry(
        occurred_at=when,
        actor_kind=kind,
        actor=actor,
        action=action,
        target_code=target,
        outcome=outcome,
        target_file=kw.pop("file", "honnin" if target else ""),
        **kw,
    )


def add(*entries: AccessLogEntry) -> None:
    AccessLogEntry.objects.bulk_create(entries)


def keys(findings) -> set[str]:
    return {f.key for f in findings}


def by_key(findings) -> dict:
    return {f.key: f for f in findings}


# --- 1. after_hours ------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_hours_finds_look_ups_before_and_after_working_hours_on_weekends_and_holidays():
    add(
        entry("early", "record.search", at(2, 7, 59)),
        entry("early", "record.view", at(2, 12, 0), target=CODE_X),  # inside hours: not counted
        entry("early", "record.view", at(2, 18, 15), target=CODE_Y),  # the end minute is outside
        entry("holiday", "record.view", at(3, 10, 0), target=CODE_X),  # 文化の日
        entry("weekend", "my_number.reveal", at(7, 14, 0), target=CODE_X),  # Saturday
        entry("punctual", "record.search", at(4, 8, 30)),
        entry("punctual", "record.print", at(4, 18, 14), target=CODE_X),
        entry("late", "login", at(4, 23, 0)),  # not a look-up of personal data
        entry("late", "record.search", at(4, 23, 0), outcome="refused"),  # refused: another report
        entry("robot", "record.view", at(4, 23, 0), target=CODE_X, kind="client"),  # not an operator
    )
    findings, truncated = log_review.after_hours(WEEK)
    found = by_key(findings)
    assert set(found) == {
        "after_hours|early|2026-11-02",
        "after_hours|holiday|2026-11-03",
        "after_hours|weekend|2026-11-07",
    }
    assert not truncated
    assert found["after_hours|early|2026-11-02"].count == 2
    assert "勤務時間外" in found["after_hours|early|2026-11-02"].summary
    assert "文化の日" in found["after_hours|holiday|2026-11-03"].summary
    assert "土曜日" in found["after_hours|weekend|2026-11-07"].summary
    link = found["after_hours|early|2026-11-02"].links[0][1]
    assert link.startswith("/audit/log/?") and "actor=early" in link and "since=2026-11-02" in link


@pytest.mark.django_db
def test_working_hours_come_from_the_settings(settings):
    settings.WORKING_HOURS_START = "09:00"
    settings.WORKING_HOURS_END = "17:00"
    add(entry("a", "record.search", at(2, 8, 45)), entry("b", "record.search", at(2, 17, 30)))
    assert keys(log_review.after_hours(WEEK)[0]) == {"after_hours|a|2026-11-02", "after_hours|b|2026-11-02"}


def test_closed_days_are_weekends_public_holidays_and_the_year_end():
    assert log_review.closed_day_name(dt.date(2026, 11, 3)) == "文化の日"
    assert log_review.closed_day_name(dt.date(2026, 11, 7)) == "土曜日"
    assert log_review.closed_day_name(dt.date(2026, 11, 8)) == "日曜日"
    assert log_review.closed_day_name(dt.date(2026, 12, 29)) == "年末年始"
    assert log_review.closed_day_name(dt.date(2027, 1, 3)) == "年末年始"
    assert log_review.closed_day_name(dt.date(2027, 1, 1)) == "元日"
    assert log_review.closed_day_name(dt.date(2026, 11, 2)) == ""
    assert log_review.closed_day_name(dt.date(2027, 1, 4)) == ""


# --- 2. volume -----------------------------------------------------------------------------


def _history(actor: str, per_day: int, before: dt.date) -> list[AccessLogEntry]:
    days = log_review._working_days_before(before, log_review.VOLUME_BASELINE_WORKING_DAYS)
    return [
        entry(actor, "record.search", dt.datetime.combine(day, dt.time(10, n % 60), tzinfo=TOKYO))
        for day in days
        for n in range(per_day)
    ]


def _burst(actor: str, day: int, count: int) -> list[AccessLogEntry]:
    return [entry(actor, "record.search", at(day, 10, n % 60)) for n in range(count)]


@pytest.mark.django_db
def test_volume_compares_an_operator_with_their_own_usual_day():
    add(
        *_history("steady", 10, WEEK.since),
        *_burst("steady", 4, 35),  # more than 3x but not 50 more: not a finding
        *_burst("steady", 5, 80),  # more than 3x and 70 more: a finding
        *_history("busy", 100, WEEK.since),
        *_burst("busy", 5, 120),  # far more than the other operators, but usual for them
    )
    found = by_key(log_review.volume(WEEK)[0])
    assert set(found) == {"volume|steady|2026-11-05"}
    assert found["volume|steady|2026-11-05"].count == 80
    assert "通常 10件" in found["volume|steady|2026-11-05"].summary
    # The 30 working days before 11-05: 28 of the history, 11-02 (idle, not counted) and 11-04.
    assert "本人の過去29勤務日の中央値" in found["volume|steady|2026-11-05"].facts


@pytest.mark.django_db
def test_an_operator_without_history_is_compared_with_the_median_of_all_operators():
    add(
        *_history("a", 10, WEEK.since),
        *_history("b", 10, WEEK.since),
        *_burst("newcomer", 5, 60),
        *_burst("quiet-newcomer", 5, 55),
    )
    found = by_key(log_review.volume(WEEK)[0])
    assert set(found) == {"volume|newcomer|2026-11-05"}
    assert "全操作者の中央値" in found["volume|newcomer|2026-11-05"].facts[0]


@pytest.mark.django_db
def test_the_volume_baseline_moves_with_each_day_and_skips_closed_days():
    # A burst on the Monday becomes part of the history of the Tuesday … of the next days.
    add(*_history("steady", 10, WEEK.since), *_burst("steady", 2, 80), *_burst("steady", 4, 80))
    assert keys(log_review.volume(WEEK)[0]) == {"volume|steady|2026-11-02", "volume|steady|2026-11-04"}
    days = log_review._working_days_before(dt.date(2026, 11, 4), 3)
    assert days == [dt.date(2026, 10, 29), dt.date(2026, 10, 30), dt.date(2026, 11, 2)]


# --- 3. many_operators ---------------------------------------------------------------------


@pytest.mark.django_db
def test_many_operators_finds_a_person_looked_up_by_three_operators():
    add(
        *(entry(op, "record.view", at(2, 10), target=CODE_X) for op in ("a", "b", "c")),
        entry("a", "record.print", at(2, 11), target=CODE_X),
        *(entry(op, "record.view", at(2, 10), target=CODE_Y) for op in ("a", "b")),
        *(entry(op, "record.view", at(2, 10), target=CODE_Z) for op in ("a", "b")),
        entry("c", "record.view", at(2, 10), target=CODE_Z, outcome="refused"),
        *(entry(op, "record.view", at(2, 10), target="app:1") for op in ("a", "b", "c")),
        *(entry(op, "record.view", at(2, 10), target=CODE_W) for op in ("a", "b")),
        entry("c", "record.view", at(10, 10), target=CODE_W),  # outside the period
    )
    findings = log_review.many_operators(WEEK)[0]
    assert len(findings) == 1
    (finding,) = findings
    assert finding.key.startswith(f"many_operators|{CODE_X}|")
    assert finding.count == 3 and "計4件" in finding.summary and "a・b・c" in finding.facts[0]
    assert f"target={CODE_X}" in finding.links[0][1]


@pytest.mark.django_db
def test_a_many_operators_finding_keeps_its_key_until_another_operator_looks():
    add(*(entry(op, "record.view", at(2, 10), target=CODE_X) for op in ("a", "b", "c")))
    (first,) = log_review.many_operators(WEEK)[0]
    add(entry("a", "record.view", at(4, 10), target=CODE_X))
    (same,) = log_review.many_operators(Period(dt.date(2026, 11, 1), dt.date(2026, 11, 6)))[0]
    assert same.key == first.key
    add(entry("d", "record.view", at(5, 10), target=CODE_X))
    (new,) = log_review.many_operators(WEEK)[0]
    assert new.key != first.key and new.count == 4


# --- 4. no_follow_up -----------------------------------------------------------------------


@pytest.mark.django_db
def test_no_follow_up_finds_views_not_followed_by_a_business_action_that_day():
    add(
        entry("a", "record.view", at(2, 10, 0), target=CODE_X),
        entry("a", "record.print", at(2, 10, 5), target=CODE_X),  # followed up
        entry("a", "record.view", at(2, 11, 0), target=CODE_Y),
        entry("b", "record.print", at(2, 11, 10), target=CODE_Y),  # by someone else
        entry("a", "record.print", at(2, 9, 0), target=CODE_W),  # before the view
        entry("a", "record.view", at(2, 9, 30), target=CODE_W),
        entry("a", "record.view", at(2, 23, 0), target=CODE_Z),
        entry("a", "record.print", at(3, 9, 0), target=CODE_Z),  # the next day
        entry("a", "record.view", at(2, 13, 0), target=CODE_X),
        entry("a", "correction.register", at(2, 13, 30), target=CODE_X),  # a desk step follows
        entry("c", "record.view", at(4, 10, 0), target=CODE_X),
        entry("c", "my_number.reveal", at(4, 10, 1), target=CODE_X, outcome="refused"),  # refused is no follow-up
        entry("d", "record.view", at(4, 10, 0), target=CODE_X),
        entry("d", "national.query", at(4, 17, 0), target=CODE_X),
    )
    found = by_key(log_review.no_follow_up(WEEK)[0])
    assert set(found) == {"no_follow_up|a|2026-11-02", "no_follow_up|c|2026-11-04"}
    assert found["no_follow_up|a|2026-11-02"].count == 3
    assert "5件のうち3件" in found["no_follow_up|a|2026-11-02"].summary
    assert "action=record.view" in found["no_follow_up|a|2026-11-02"].links[0][1]


@pytest.mark.django_db
def test_no_follow_up_leaves_today_out_because_it_is_not_over():
    add(entry("a", "record.view", dt.datetime(2026, 11, 20, 9, 0, tzinfo=TOKYO), target=CODE_X))
    today = Period(dt.date(2026, 11, 19), dt.date(2026, 11, 20))
    assert log_review.no_follow_up(today)[0] == []


# --- 5. failed_logins ----------------------------------------------------------------------


@pytest.mark.django_db
def test_failed_logins_are_grouped_by_login_id_and_day_and_flagged_at_three_or_a_lockout():
    hostile = "a|b<script>"
    add(
        *(entry("", "login.failed", at(2, 9, n), target="ghost", kind="anonymous", outcome="failed") for n in range(3)),
        *(entry("", "login.failed", at(2, 9, n), target="bob", kind="anonymous", outcome="failed") for n in range(2)),
        entry("", "login.failed", at(3, 9), target="bob", kind="anonymous", outcome="failed"),  # another day
        entry("", "login.locked_out", at(2, 9), target="carol", kind="anonymous", outcome="refused"),
        *(entry("dave", "screen.unlock_failed", at(4, 9, n), outcome="failed") for n in range(3)),
        entry("erin", "login.otp_failed", at(4, 9), target="erin", outcome="failed"),
        entry("erin", "login.otp_failed", at(4, 10), target="erin", outcome="failed"),
        entry("", "login.failed", at(4, 11), target="erin", kind="anonymous", outcome="failed"),
        *(entry("", "login.failed", at(5, 9, n), target=hostile, kind="anonymous", outcome="failed") for n in range(4)),
    )
    found = by_key(log_review.failed_logins(WEEK)[0])
    hostile_key = next(k for k in found if k.startswith("failed_logins|~"))
    assert set(found) == {
        "failed_logins|ghost|2026-11-02",
        "failed_logins|carol|2026-11-02",
        "failed_logins|dave|2026-11-04",
        "failed_logins|erin|2026-11-04",
        hostile_key,
    }
    assert "ロックアウト" in found["failed_logins|carol|2026-11-02"].summary
    assert "確認コード誤り 2件" in found["failed_logins|erin|2026-11-04"].facts
    assert found[hostile_key].count == 4
    assert log_review.REPORTS["failed_logins"].key_pattern.fullmatch(hostile_key)
    # A login id the log viewer's filter cannot take is left out of the link, not passed on.
    assert "script" not in found[hostile_key].links[0][1]


# --- 6. refused_provisions -----------------------------------------------------------------


@pytest.mark.django_db
def test_refused_provisions_lists_client_refusals_first_then_other_refusals():
    add(
        entry("J-CLIENT", "provision.lookup", at(2, 10), kind="client", outcome="refused", duty="J-900"),
        entry("J-CLIENT", "provision.lookup", at(2, 11), kind="client", outcome="refused", duty="5-1"),
        entry("J-CLIENT", "provision.lookup", at(2, 12), kind="client", outcome="ok", duty="5-1"),
        entry("", "api.auth", at(3, 10), kind="anonymous", outcome="refused"),
        entry("gyomu1", "record.view", at(6, 10), outcome="refused"),
        entry("", "login.locked_out", at(6, 10), target="x", kind="anonymous", outcome="refused"),
    )
    findings = log_review.refused_provisions(WEEK)[0]
    assert [f.key for f in findings] == [
        "refused_provisions|client|J-CLIENT|provision.lookup|2026-11-02",
        "refused_provisions|operator|gyomu1|record.view|2026-11-06",
        "refused_provisions|anonymous|-|api.auth|2026-11-03",
    ]
    assert findings[0].count == 2 and "事務 5-1・J-900" in findings[0].facts
    assert "outcome=refused" in findings[0].links[0][1]


# --- Periods -------------------------------------------------------------------------------


def test_the_default_period_is_the_last_seven_days_and_at_most_31_days_are_allowed():
    assert log_review.review_period() == Period(dt.date(2026, 11, 14), dt.date(2026, 11, 20))
    assert log_review.review_period(dt.date(2026, 10, 1)) == Period(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    assert log_review.review_period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)).days[-1] == dt.date(2026, 10, 31)
    with pytest.raises(InvalidInput) as info:
        log_review.review_period(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert info.value.code == "E_REVIEW_PERIOD" and "31日以内" in info.value.message


# --- Marking -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_auditor_marks_a_finding_once_and_the_mark_is_logged(make_operator):
    auditor = make_operator("auditor")
    key = "after_hours|early|2026-11-02"
    mark = review_mark(operator=auditor, report="after_hours", finding_key=key, note="  残業の申請あり。確認済み。 ")
    assert mark.note == "残業の申請あり。確認済み。" and mark.reviewed_by == auditor.login_id
    assert AccessLogEntry.objects.filter(action="log_review.mark", detail__contains=key).count() == 1
    with pytest.raises(Conflict) as info:
        review_mark(operator=make_operator("auditor"), report="after_hours", finding_key=key, note="二度目")
    assert info.value.code == "E_REVIEW_MARKED" and auditor.login_id in info.value.message
    assert ReviewMark.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("report", "finding_key", "note", "code"),
    [
        ("after_hours", "after_hours|early|2026-11-02", "", "E_REVIEW_NOTE_REQUIRED"),
        ("after_hours", "after_hours|early|2026-11-02", "   ", "E_REVIEW_NOTE_REQUIRED"),
        ("after_hours", "after_hours|early|2026-11-02", "長" * 501, "E_REVIEW_NOTE"),
        ("after_hours", "after_hours|early|2026-11-02", "a\x00b", "E_REVIEW_NOTE"),
        ("after_hours", "after_hours|early|2026-11-02", "番号 123456789012 を確認", "E_REVIEW_NOTE"),
        ("after_hours", "volume|early|2026-11-02", "ok", "E_REVIEW_FINDING"),
        ("after_hours", "after_hours|a|b|2026-11-02", "ok", "E_REVIEW_FINDING"),
        ("after_hours", "after_hours|early|2026-11-02\n", "ok", "E_REVIEW_FINDING"),
        ("many_operators", "many_operators|123|abc", "ok", "E_REVIEW_FINDING"),
        ("no_such_report", "x", "ok", "E_REVIEW_REPORT"),
    ],
    ids=["empty", "blank", "long", "nul", "my-number", "other-report", "extra-part", "newline", "bad-code", "report"],
)
def test_a_bad_mark_is_refused_with_a_japanese_message_and_nothing_is_written(
    make_operator, report, finding_key, note, code
):
    with pytest.raises((InvalidInput, NotFound)) as info:
        review_mark(operator=make_operator("auditor"), report=report, finding_key=finding_key, note=note)
    assert info.value.code == code
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in info.value.message)
    assert ReviewMark.objects.count() == 0
    assert not AccessLogEntry.objects.filter(action="log_review.mark", outcome="ok").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "kaiji", "teikyo", "sysadmin", "secadmin"])
def test_only_an_auditor_may_mark_and_a_refusal_is_logged(make_operator, role):
    operator = make_operator(role)
    with pytest.raises(PermissionRefused):
        review_mark(operator=operator, report="after_hours", finding_key="after_hours|x|2026-11-02", note="ok")
    assert ReviewMark.objects.count() == 0
    assert AccessLogEntry.objects.filter(action="log_review.mark", outcome="refused").count() == 1


@pytest.mark.django_db
def test_review_marks_are_append_only(make_operator):
    review_mark(
        operator=make_operator("auditor"), report="after_hours", finding_key="after_hours|x|2026-11-02", note="確認"
    )
    for sql in ("UPDATE audit_reviewmark SET note = 'changed'", "DELETE FROM audit_reviewmark"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert ReviewMark.objects.get().note == "確認"


# --- Pages ---------------------------------------------------------------------------------


def _findings_of_every_kind(n: int, *, prefix: str = "op", first: int = 0) -> None:
    """n findings in each report (operators, people and clients named after ``prefix``)."""
    rows = []
    for i in range(first, first + n):
        op = f"{prefix}{i:03d}"
        first10 = f"{7_100_000_000 + i:010d}"
        code = first10 + juminhyo_code_check_digit(first10)
        rows += [
            entry(op, "record.view", at(2, 22, 0), target=code),  # after hours, and no follow-up
            *(entry(f"{op}-{j}", "record.view", at(2, 10), target=code) for j in range(3)),  # many operators
            *_burst(op, 4, 60),  # volume (no history: compared with everyone's, which is 0)
            *(entry("", "login.failed", at(5, 9, k), target=op, kind="anonymous", outcome="failed") for k in range(3)),
            entry(f"{prefix}-client{i}", "provision.lookup", at(6, 10), kind="client", outcome="refused", duty="5-1"),
        ]
    add(*rows)


@pytest.mark.django_db
def test_the_index_lists_six_reports_with_unreviewed_counts_and_links_to_the_grant_reviews(staff_client):
    _findings_of_every_kind(2)
    client = staff_client("auditor")
    response = client.get("/audit/review/", WEEK_QUERY)
    assert response.status_code == 200
    text = response.content.decode()
    for report in log_review.REPORTS.values():
        assert report.label in text
        assert f"/audit/review/{report.name}/?since=2026-11-02" in text
    assert "/console/reviews/" in text and "権限付与状況の定期確認" in text
    entry_ = AccessLogEntry.objects.get(action="log_review.view", actor=client.operator.login_id)
    assert entry_.target_code == "index" and "2026-11-02〜2026-11-08" in entry_.detail


@pytest.mark.django_db
def test_a_report_page_shows_findings_and_marking_one_records_who_when_and_the_note(staff_client):
    _findings_of_every_kind(2)
    client = staff_client("auditor")
    page = client.get("/audit/review/after_hours/", WEEK_QUERY)
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        "op000 が 2026-11-02（勤務時間外）" in text
        and 'name="finding_key" value="after_hours|op000|2026-11-02"' in text
    )
    logged = AccessLogEntry.objects.get(action="log_review.view", actor=client.operator.login_id)
    assert logged.target_code == "after_hours" and "期間 2026-11-02〜2026-11-08" in logged.detail

    response = client.post(
        "/audit/review/after_hours/mark/",
        {"finding_key": "after_hours|op000|2026-11-02", "note": "夜間の窓口対応。", **WEEK_QUERY},
    )
    assert response.status_code == 302
    assert response["Location"] == "/audit/review/after_hours/?since=2026-11-02&until=2026-11-08"
    text = client.get(response["Location"]).content.decode()
    assert "確認済み" in text and "夜間の窓口対応。" in text and client.operator.login_id in text
    assert AccessLogEntry.objects.filter(action="log_review.mark", actor=client.operator.login_id).count() == 1

    only = client.get("/audit/review/after_hours/", {**WEEK_QUERY, "unreviewed": "on"}).content.decode()
    assert "after_hours|op001|2026-11-02" in only and "after_hours|op000|2026-11-02" not in only
    index = client.get("/audit/review/", WEEK_QUERY).content.decode()
    assert "1件</strong>" in index  # after_hours: one of two findings still unreviewed

    again = client.post(
        "/audit/review/after_hours/mark/",
        {"finding_key": "after_hours|op000|2026-11-02", "note": "二度目", **WEEK_QUERY},
    )
    assert again.status_code == 409 and "既に確認済み" in again.content.decode()
    assert ReviewMark.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"finding_key": "after_hours|op000|2026-11-02", "note": ""}, "確認内容を入力してください"),
        ({"finding_key": "after_hours|op000|2026-11-02", "note": "x" * 501}, "500文字以内"),
        ({"finding_key": "after_hours|op000|2026-11-02", "note": "a\x00b"}, "制御文字"),
        ({"finding_key": "", "note": "ok"}, "指摘が指定されていません"),
        ({"finding_key": "x" * 5000, "note": "ok"}, "指摘が正しくありません"),
        ({"finding_key": "after_hours|<script>|2026-11-02", "note": "ok"}, "指摘が正しくありません"),
        ({}, "確認内容を入力してください"),
        ({"finding_key": "after_hours|op000|2026-11-02", "note": "ok", "since": "2026-99-99"}, None),
    ],
    ids=["no-note", "long-note", "nul-note", "no-key", "huge-key", "hostile-key", "empty", "bad-period"],
)
def test_a_hostile_mark_gets_a_4xx_and_a_japanese_message_never_a_500(staff_client, data, message):
    client = staff_client("auditor")
    response = client.post("/audit/review/after_hours/mark/", data)
    if message is None:  # a broken period only sends the auditor back to the default period
        assert response.status_code == 302 and ReviewMark.objects.count() == 1
        return
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ReviewMark.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"since": "2026-13-45"},
        {"since": "2026-11-08", "until": "2026-11-02"},
        {"since": "2026-09-01", "until": "2026-11-01"},
        {"since": "0001-01-01"},
        {"until": "9999-12-31"},
        {"since": "2026-11-02\x00"},
        {"since": "x" * 5000},
        {"since": "' OR 1=1 --"},
    ],
    ids=["bad-date", "reversed", "too-long", "year-1", "year-9999", "nul", "oversized", "sql"],
)
@pytest.mark.parametrize("path", ["/audit/review/", "/audit/review/volume/"])
def test_a_hostile_period_gets_a_400_with_a_japanese_message(staff_client, query, path):
    response = staff_client("auditor").get(path, query)
    assert response.status_code == 400
    text = response.content.decode()
    assert any(m in text for m in ("日付を正しく", "終了日は開始日以降", "31日以内", "2000年から2099年")), text
    assert not AccessLogEntry.objects.filter(action="log_review.view").exists()


@pytest.mark.django_db
def test_an_unknown_report_is_a_404(staff_client):
    client = staff_client("auditor")
    assert client.get("/audit/review/no_such_report/").status_code == 404
    assert client.get("/audit/review/%00/").status_code == 404
    assert client.post("/audit/review/no_such_report/mark/", {"finding_key": "x", "note": "ok"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "kaiji", "teikyo", "sysadmin", "secadmin"])
def test_other_roles_are_refused_the_review_pages_and_the_refusal_is_logged(staff_client, role):
    client = staff_client(role)
    assert client.get("/audit/review/").status_code == 403
    assert client.get("/audit/review/after_hours/").status_code == 403
    response = client.post("/audit/review/after_hours/mark/", {"finding_key": "after_hours|x|2026-11-02", "note": "ok"})
    assert response.status_code == 403
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == 3
    assert ReviewMark.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/audit/review/", *(f"/audit/review/{name}/" for name in log_review.REPORTS)])
def test_pages_run_a_fixed_number_of_queries_whatever_the_number_of_findings(
    staff_client, django_assert_max_num_queries, path
):
    client = staff_client("auditor")
    _findings_of_every_kind(2)
    with django_assert_max_num_queries(20) as few:
        assert client.get(path, WEEK_QUERY).status_code == 200
    _findings_of_every_kind(30, first=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(path, WEEK_QUERY)
    assert response.status_code == 200


def test_every_report_key_pattern_accepts_the_keys_its_selector_makes():
    samples = {
        "after_hours": "after_hours|op-1.x@y:z|2026-11-02",
        "volume": "volume|~0123456789abcdef|2026-11-02",
        "many_operators": "many_operators|70000000017|0123456789ab",
        "no_follow_up": "no_follow_up|op|2026-11-02",
        "failed_logins": "failed_logins|-|2026-11-02",
        "refused_provisions": "refused_provisions|client|C1|provision.lookup|2026-11-02",
    }
    assert set(samples) == set(log_review.REPORTS)
    for name, key in samples.items():
        assert log_review.REPORTS[name].key_pattern.fullmatch(key), name
        assert not log_review.REPORTS[name].key_pattern.fullmatch(key + "|x"), name
