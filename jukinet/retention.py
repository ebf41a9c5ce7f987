"""The scheduled retention erasure (DESIGN.md §4.6, docs/retention.md).

Once a day (beat, 02:30) :func:`retention_erase_expired` erases, in committed batches:
history and 消除者 of both files whose period under 住基法施行令第30条の6 has ended
(honnin.retention, fuhyo.retention), and the personal items carried by update notices that
were applied or rejected long ago (their receipt, state and error stay, so a CS asking about
a notice still gets its answer). It records how many rows each step erased in an
``audit.ErasureRun`` and in the access log, never what they held. One run at a time: a
PostgreSQL advisory lock, so a second beat or a manual run returns at once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import access_log, context
from audit.models import ErasureRun
from fuhyo.retention import fuhyo_erase_expired, fuhyo_next_expiries
from honnin.retention import honnin_erase_expired, honnin_next_expiries
from jukinet.models import InboxNotice, OutboxNotice

logger = logging.getLogger(__name__)

ERASE_ACTION = "retention.erase"
_LOCK_KEY = 0x6A756B69_0008  # "juki" + issue 8: one retention run at a time
_WINDOW_ROWS = 20_000

# What each count means, for the page and the log (Japanese labels for operators).
COUNT_LABELS = {
    "honnin_history": "本人確認情報 履歴（修正前の本人確認情報）",
    "honnin_removed": "本人確認情報 消除者",
    "fuhyo_history": "附票本人確認情報 履歴",
    "fuhyo_removed": "附票本人確認情報 消除者",
    "inbox_payloads": "更新通知（受信）の記録項目",
    "outbox_payloads": "更新通知（全国サーバへの送信）の記録項目",
}


def retention_erase_expired(*, today: dt.date | None = None) -> ErasureRun | None:
    """Erase everything whose retention ended before ``today`` (default: the local date).

    Returns the run, or None when another run holds the lock.
    """
    today = today or timezone.localdate()
    with context.acting(actor_kind="system", actor="retention"):
        if not _try_lock():
            logger.info("retention erasure already running; this run returns")
            return None
        try:
            return _run(today)
        finally:
            _unlock()


def _run(today: dt.date) -> ErasureRun:
    # Holding the lock, any run still "running" was killed (its batches stay committed): say so.
    ErasureRun.objects.filter(state="running").update(
        state="failed", error="中断（次の実行で検出）", finished_at=timezone.now()
    )
    run = ErasureRun.objects.create(started_at=timezone.now(), today=today, state="running")
    counts: dict[str, int] = {}
    try:
        counts.update(honnin_erase_expired(today=today))
        counts.update(fuhyo_erase_expired(today=today))
        counts.update(notice_payloads_erase(today=today))
    except Exception as exc:
        # What was erased stays erased (each batch committed); the counts so far are kept.
        run.counts, run.total = counts, sum(counts.values())
        run.state, run.error, run.finished_at = "failed", type(exc).__name__, timezone.now()
        run.save(update_fields=["counts", "total", "state", "error", "finished_at"])
        access_log.log_event(
            action=ERASE_ACTION, outcome="error", detail=f"消去処理の失敗 {type(exc).__name__} {_summary(counts)}"
        )
        raise
    run.counts, run.total = counts, sum(counts.values())
    run.state, run.finished_at = "done", timezone.now()
    run.save(update_fields=["counts", "total", "state", "finished_at"])
    access_log.log_event(action=ERASE_ACTION, detail=f"基準日 {today:%Y-%m-%d} 合計{run.total}件 {_summary(counts)}")
    logger.info("retention erasure for %s: %d rows %s", today, run.total, counts)
    return run


def _summary(counts: dict[str, int]) -> str:
    return " ".join(f"{key}={value}" for key, value in counts.items())


def notice_payloads_erase(*, today: dt.date) -> dict[str, int]:
    """Clear the record items and the encrypted 個人番号 of notices decided (inbox) or
    acknowledged (outbox) more than settings.NOTICE_PAYLOAD_KEEP_DAYS ago.

    The notice row stays (its id, state, error and receipt answer a CS's question); only the
    copy of personal data goes. Walks the id range in windows, so each statement reads one
    slice of the primary key instead of the whole table again.
    """
    cutoff = timezone.make_aware(dt.datetime.combine(today, dt.time.min)) - dt.timedelta(
        days=settings.NOTICE_PAYLOAD_KEEP_DAYS
    )
    inbox = _clear_in_windows(
        InboxNotice._meta.db_table,
        "record = '{}'::jsonb, my_number = NULL",
        "state IN ('applied', 'rejected') AND decided_at < %s AND (record <> '{}'::jsonb OR my_number IS NOT NULL)",
        [cutoff],
    )
    outbox = _clear_in_windows(
        OutboxNotice._meta.db_table,
        "payload = '{}'::jsonb, my_number = NULL",
        "state = 'done' AND acked_at < %s AND (payload <> '{}'::jsonb OR my_number IS NOT NULL)",
        [cutoff],
    )
    return {"inbox_payloads": inbox, "outbox_payloads": outbox}


def _clear_in_windows(table: str, assignments: str, condition: str, params: list) -> int:
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {table}")  # noqa: S608 - table names from models
        low, high = cursor.fetchone()
    if low is None:
        return 0
    total = 0
    for start in range(low, high + 1, _WINDOW_ROWS):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE id >= %s AND id < %s AND {condition}",  # noqa: S608
                [start, start + _WINDOW_ROWS, *params],
            )
            total += cursor.rowcount
    return total


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


# --- Selectors for the page ------------------------------------------------------------------


def erasure_runs(limit: int = 100) -> list[ErasureRun]:
    return list(ErasureRun.objects.all()[:limit])


def erasure_run_get(pk: int) -> ErasureRun | None:
    return ErasureRun.objects.filter(pk=pk).first()


def next_expiries() -> list[tuple[str, dt.date | None]]:
    """(label, the earliest day a kept row of that kind expires) for each kind."""
    found = {**honnin_next_expiries(), **fuhyo_next_expiries()}
    return [(COUNT_LABELS[key], found.get(key)) for key in COUNT_LABELS if key in found]
