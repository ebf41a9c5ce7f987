"""The forwarder: applied notices go from the outbox to the national server.

At-least-once with per-person order: one forwarder per file at a time (a transaction-level
advisory lock), rows sent in outbox order, marked done only on acknowledgement, and only up
to the first row the national side did not acknowledge, so a later notice of a person is
never done before an earlier one. The national side deduplicates on ``notice_id``, so a
batch sent again after a lost answer changes nothing there. A failed batch backs off
exponentially (with jitter); the beat sweeper and the retry task pick it up again.
"""

import logging
import random
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from audit import access_log, context
from jukinet import national_client
from jukinet.crypto import get_keyring
from jukinet.models import OutboxNotice, OutboxState
from jukinet.notice_outbox import outbox_my_number_context

logger = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_BACKOFF_SECONDS = 300


def backoff_seconds(attempts: int) -> float:
    base = min(2 ** min(attempts, 16), MAX_BACKOFF_SECONDS)
    return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


def _wire(row: OutboxNotice, keyring) -> dict:
    notice = dict(row.payload)
    if row.my_number is not None:
        record = dict(notice["record"])
        record["my_number"] = keyring.decrypt(
            bytes(row.my_number), context=outbox_my_number_context(row.file, row.notice_id)
        )
        notice["record"] = record
    return notice


def _try_lock(file: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [f"forward:{file}"])
        return cursor.fetchone()[0]


def outbox_forward(*, file: str, batch_size: int = BATCH_SIZE, max_seconds: float = 60) -> int:
    """Send pending outbox rows until none is left, the national side fails, or time is up."""
    keyring = get_keyring()
    sent = 0
    deadline = time.monotonic() + max_seconds
    with context.acting(actor_kind="system", actor="forwarder"):
        while time.monotonic() < deadline:
            with transaction.atomic():
                if not _try_lock(file):
                    return sent  # another forwarder holds this file
                rows = list(
                    OutboxNotice.objects.select_for_update()
                    .filter(file=file, state=OutboxState.PENDING)
                    .order_by("id")[:batch_size]
                )
                if not rows or rows[0].next_attempt_at > timezone.now():
                    return sent
                try:
                    acked = set(national_client.send_notices(file, [_wire(row, keyring) for row in rows]))
                except national_client.NationalError as exc:
                    _back_off(rows, str(exc))
                    return sent
                done = []
                for row in rows:
                    if row.notice_id not in acked:
                        break  # keep per-person order: nothing after an unacknowledged row is done
                    done.append(row.pk)
                now = timezone.now()
                OutboxNotice.objects.filter(pk__in=done).update(state=OutboxState.DONE, acked_at=now, last_error="")
                if len(done) < len(rows):
                    _back_off(rows[len(done) :], "一部の通知が受領確認されませんでした")
                sent += len(done)
                if len(done) < len(rows):
                    return sent
    return sent


def _back_off(rows: list[OutboxNotice], reason: str) -> None:
    attempts = max(row.attempts for row in rows) + 1
    delay = backoff_seconds(attempts)
    OutboxNotice.objects.filter(pk__in=[row.pk for row in rows]).update(
        attempts=F("attempts") + 1,
        next_attempt_at=timezone.now() + timezone.timedelta(seconds=delay),
        last_error=reason[:300],
    )
    access_log.log_event(
        action="notice.forward",
        outcome="failed",
        target_file=rows[0].file,
        detail=f"{len(rows)}件の送信に失敗（{reason[:120]}）、{delay:.0f}秒後に再送",
    )
    from jukinet.tasks import notices_forward, wake_on_commit

    wake_on_commit(notices_forward, rows[0].file, countdown=delay)


def outbox_backlog_alert(*, file: str) -> bool:
    """Alert (at most every alert period) when the oldest unacknowledged row is too old."""
    oldest = OutboxNotice.objects.filter(file=file, state=OutboxState.PENDING).aggregate(t=Min("created_at"))["t"]
    if oldest is None:
        return False
    age = (timezone.now() - oldest).total_seconds()
    if age < settings.OUTBOX_BACKLOG_ALERT_SECONDS:
        return False
    from audit.models import AccessLogEntry

    recent = timezone.now() - timezone.timedelta(seconds=settings.OUTBOX_BACKLOG_ALERT_SECONDS)
    if AccessLogEntry.objects.filter(action="notice.backlog_alert", target_file=file, occurred_at__gte=recent).exists():
        return False
    with context.acting(actor_kind="system", actor="notice-sweeper"):
        access_log.log_event(
            action="notice.backlog_alert",
            outcome="error",
            target_file=file,
            detail=f"全国サーバへの未送信通知が{age / 60:.0f}分滞留しています",
        )
    logger.warning("outbox backlog for %s is %.0f s old", file, age)
    return True
