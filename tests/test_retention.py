"""Retention and erasure (住基法施行令第30条の6; docs/retention.md), with a moved clock.

Updates are sent through the real notice flow on one day; the clock is then moved to the
last day of the period and to the day after, and the scheduled erasure is run: history and
消除者 go exactly when their period has passed, current rows never, and the run records
counts, never contents. One test runs the task on a real Celery worker.
"""

import datetime as dt
import json
import time

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from audit.models import AccessLogEntry, ErasureRun
from audit.services import client_issue_direct
from fuhyo.models import FuhyoHistory, FuhyoRecord
from honnin.models import Resident, ResidentHistory
from jukinet.models import InboxNotice, OutboxNotice
from jukinet.notice_apply import inbox_apply_batch, inbox_release_held
from jukinet.notice_intake import notice_status, notices_receive
from jukinet.retention import retention_erase_expired
from jukinet.retention_sql import removal_cutoff
from tests.worker_fixtures import private_worker

KEPT_CODE = "12345678903"  # changed once, stays current
GONE_CODE = "23456789013"  # changed, then removed (死亡)
NUMBER = "983205673214"
OTHER_NUMBER = "123456789018"
SENT_ON = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _tz(day: dt.date, hour: int = 3) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="試験CS", municipality_code="112011").client


def _honnin_entry(code, seq, number):
    return {
        "notice_id": f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": "転入",
        "changed_on": "2026-11-01",
        "record": {
            "name": "佐藤　太郎",
            "name_kana": "サトウ　タロウ",
            "birth_date": "1985-03-01",
            "sex": "1",
            "address": "埼玉県川越市元町一丁目1番1号",
            "municipality_code": "112011",
            "oaza_code": "0001001",
            "my_number": number,
        },
        "operator_id": "OP0101",
        "terminal_id": "TM112011-01",
    }


def _change(code, seq, reason, **record):
    return {
        "notice_id": f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": reason,
        "changed_on": "2026-11-20",
        "record": record,
    }


def _apply(file):
    while inbox_apply_batch(file=file):
        pass
    if inbox_release_held(file=file):
        _apply(file)


def _send_honnin(cs):
    """On 2026-11-20: two entries, an address change each, and one of them dies."""
    with time_machine.travel(SENT_ON, tick=False):
        notices_receive(
            file="honnin",
            client=cs,
            notices=[
                _honnin_entry(KEPT_CODE, 1, NUMBER),
                _change(KEPT_CODE, 2, "転居", address="埼玉県川越市元町二丁目2番2号", oaza_code="0001002"),
                _honnin_entry(GONE_CODE, 1, OTHER_NUMBER),
                _change(GONE_CODE, 2, "転居", address="埼玉県川越市元町三丁目3番3号", oaza_code="0001003"),
                _change(GONE_CODE, 3, "死亡"),
            ],
        )
        _apply("honnin")
    assert ResidentHistory.objects.count() == 3
    assert Resident.objects.get(juminhyo_code=GONE_CODE).deleted


def _retention_end() -> dt.date:
    """The last day the rows superseded or removed on SENT_ON are kept."""
    return dt.date(2026 + settings.HISTORY_RETENTION_YEARS, 11, 20)


@pytest.mark.django_db
def test_nothing_is_erased_on_the_last_day_of_the_period(cs):
    _send_honnin(cs)
    with time_machine.travel(_tz(_retention_end()), tick=False):
        run = retention_erase_expired()
    assert run.state == "done" and run.today == _retention_end()
    assert run.counts["honnin_history"] == 0 and run.counts["honnin_removed"] == 0
    assert ResidentHistory.objects.count() == 3 and Resident.objects.count() == 2


@pytest.mark.django_db
def test_history_and_the_removed_person_go_the_day_after_and_current_rows_stay(cs):
    _send_honnin(cs)
    day_after = _retention_end() + dt.timedelta(days=1)
    with time_machine.travel(_tz(day_after), tick=False):
        run = retention_erase_expired()
    assert run.counts["honnin_history"] == 3
    assert run.counts["honnin_removed"] == 1
    assert run.total == sum(run.counts.values())
    assert not ResidentHistory.objects.exists()
    kept = Resident.objects.get()
    assert kept.juminhyo_code == KEPT_CODE and not kept.deleted
    # A second run the same day finds nothing left and erases nothing more.
    with time_machine.travel(_tz(day_after, 4), tick=False):
        again = retention_erase_expired()
    assert again.counts["honnin_history"] == 0 and again.counts["honnin_removed"] == 0


@pytest.mark.django_db
def test_a_removed_person_stays_while_any_of_their_history_is_kept(cs):
    _send_honnin(cs)
    gone = Resident.objects.get(juminhyo_code=GONE_CODE)
    # One history row of the removed person was superseded later (a correction after removal).
    ResidentHistory.objects.filter(resident=gone).update(retain_until=dt.date(2300, 1, 1))
    with time_machine.travel(_tz(_retention_end() + dt.timedelta(days=1)), tick=False):
        run = retention_erase_expired()
    assert run.counts["honnin_removed"] == 0
    assert Resident.objects.filter(juminhyo_code=GONE_CODE).exists()
    assert ResidentHistory.objects.filter(resident=gone).count() == 2


@pytest.mark.django_db
def test_the_run_is_logged_with_counts_and_never_what_was_erased(cs):
    _send_honnin(cs)
    with time_machine.travel(_tz(_retention_end() + dt.timedelta(days=1)), tick=False):
        run = retention_erase_expired()
    entry = AccessLogEntry.objects.filter(action="retention.erase").get()
    assert entry.actor_kind == "system" and entry.outcome == "ok"
    assert f"合計{run.total}件" in entry.detail
    for secret in (KEPT_CODE, GONE_CODE, NUMBER, OTHER_NUMBER, "佐藤", "元町"):
        assert secret not in entry.detail
        assert secret not in json.dumps(run.counts, ensure_ascii=False)


def _fuhyo_entry(code, seq):
    return {
        "notice_id": f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": "国外転出",
        "changed_on": "2026-11-01",
        "record": {
            "name": "佐藤　花子",
            "name_kana": "サトウ　ハナコ",
            "birth_date": "1990-01-01",
            "sex": "2",
            "address_municipality_code": "112011",
            "address": "アメリカ合衆国",
            "last_address": "埼玉県川越市元町一丁目1番1号",
            "managing_municipality_code": "112011",
        },
        "operator_id": "OP0101",
        "terminal_id": "TM112011-01",
    }


@pytest.mark.django_db
def test_the_fuhyo_file_follows_the_same_rule(cs):
    with time_machine.travel(SENT_ON, tick=False):
        notices_receive(
            file="fuhyo",
            client=cs,
            notices=[
                _fuhyo_entry(KEPT_CODE, 1),
                _change(KEPT_CODE, 2, "住所の変更", address="フランス共和国"),
                _fuhyo_entry(GONE_CODE, 1),
                _change(GONE_CODE, 2, "国外からの転入"),
            ],
        )
        _apply("fuhyo")
    assert FuhyoHistory.objects.count() == 2
    with time_machine.travel(_tz(_retention_end()), tick=False):
        assert retention_erase_expired().counts["fuhyo_history"] == 0
    with time_machine.travel(_tz(_retention_end() + dt.timedelta(days=1)), tick=False):
        run = retention_erase_expired()
    assert run.counts["fuhyo_history"] == 2 and run.counts["fuhyo_removed"] == 1
    assert list(FuhyoRecord.objects.values_list("juminhyo_code", "status")) == [(KEPT_CODE, "0")]


@pytest.mark.django_db
def test_notice_payloads_are_cleared_after_their_keep_days_and_the_cs_still_gets_its_answer(cs, settings):
    settings.NOTICE_PAYLOAD_KEEP_DAYS = 30
    _send_honnin(cs)
    OutboxNotice.objects.update(state="done", acked_at=SENT_ON)
    # The 死亡 notice carries no record items: four notices hold a copy of personal data.
    holding = InboxNotice.objects.exclude(record={}, my_number__isnull=True).count()
    assert holding == 4
    # Day 30 after: kept.
    with time_machine.travel(_tz(dt.date(2026, 12, 20)), tick=False):
        run = retention_erase_expired()
    assert run.counts["inbox_payloads"] == 0 and run.counts["outbox_payloads"] == 0
    with time_machine.travel(_tz(dt.date(2026, 12, 21)), tick=False):
        run = retention_erase_expired()
    assert run.counts["inbox_payloads"] == holding and run.counts["outbox_payloads"] == OutboxNotice.objects.count()
    assert not InboxNotice.objects.exclude(record={}).exists()
    assert not InboxNotice.objects.filter(my_number__isnull=False).exists()
    assert not OutboxNotice.objects.exclude(payload={}).exists()
    # The rows themselves stay: the CS's status question still has its answer.
    status = notice_status(file="honnin", client=cs, notice_id=f"112011-{KEPT_CODE}-0001")
    assert status["state"] == "applied"
    # The current rows are untouched by the payload erasure.
    assert Resident.objects.count() == 2


@pytest.mark.django_db
def test_a_pending_or_held_notice_keeps_its_payload(cs, settings):
    settings.NOTICE_PAYLOAD_KEEP_DAYS = 1
    with time_machine.travel(SENT_ON, tick=False):
        # Update 3 without 2: held for the gap; the entry itself applied.
        notices_receive(
            file="honnin",
            client=cs,
            notices=[
                _honnin_entry(KEPT_CODE, 1, NUMBER),
                _change(KEPT_CODE, 3, "転居", address="埼玉県川越市元町九丁目"),
            ],
        )
        _apply("honnin")
    with time_machine.travel(_tz(dt.date(2027, 6, 1)), tick=False):
        run = retention_erase_expired()
    assert run.counts["inbox_payloads"] == 1
    held = InboxNotice.objects.get(update_seq=3)
    assert held.state == "held" and held.record


def test_the_removal_cutoff_never_erases_a_day_early():
    years = settings.HISTORY_RETENTION_YEARS
    assert removal_cutoff(dt.date(2200, 3, 1)) == dt.date(2200 - years, 3, 1)
    # 29 February of a leap year whose counterpart is not a leap year: fall back to the 28th.
    leap = dt.date(2400, 2, 29)
    if (2400 - years) % 4:
        assert removal_cutoff(leap) == dt.date(2400 - years, 2, 28)


@pytest.mark.django_db
def test_a_run_killed_half_way_is_marked_by_the_next_one(cs):
    killed = ErasureRun.objects.create(started_at=timezone.now(), today=timezone.localdate(), state="running")
    run = retention_erase_expired()
    killed.refresh_from_db()
    assert killed.state == "failed" and "中断" in killed.error and killed.finished_at is not None
    assert run.state == "done"


@pytest.mark.django_db
def test_a_second_run_while_one_holds_the_lock_returns_at_once(cs):
    from django.db import connections

    from jukinet import retention

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [retention._LOCK_KEY])
        assert retention_erase_expired() is None
        assert not ErasureRun.objects.exists()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_task_erases_on_a_real_celery_worker(cs, tmp_path):
    from jukinet.tasks_retention import retention_erase_expired as task

    _send_honnin(cs)
    # Rows whose period has already passed (as if superseded 151 years ago).
    ResidentHistory.objects.filter(juminhyo_code=KEPT_CODE).update(retain_until=dt.date(2000, 1, 1))
    with private_worker("retention", ["retention.*"], tmp_path):
        task.delay()
        deadline = time.monotonic() + 60
        while not ErasureRun.objects.filter(state="done").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    run = ErasureRun.objects.get()
    assert run.state == "done" and run.counts["honnin_history"] == 1 and run.today == timezone.localdate()
    assert ResidentHistory.objects.count() == 2


@pytest.mark.django_db
def test_the_erasure_pages_show_counts_to_the_auditor_and_refuse_the_desk(staff_client, cs):
    _send_honnin(cs)
    with time_machine.travel(_tz(_retention_end() + dt.timedelta(days=1)), tick=False):
        run = retention_erase_expired()
    auditor = staff_client("auditor")
    page = auditor.get("/retention/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "保存期間経過による消去" in text and f"#{run.pk}" in text
    detail = auditor.get(f"/retention/{run.pk}/").content.decode()
    assert "本人確認情報 履歴" in detail and ">3<" in detail
    assert GONE_CODE not in detail and "佐藤" not in detail
    assert auditor.get("/retention/999999/").status_code == 404
    assert staff_client("kaiji").get("/retention/").status_code == 403
    assert AccessLogEntry.objects.filter(action="erasure.view", outcome="refused").exists()
