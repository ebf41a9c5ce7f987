"""Claiming inbox rows and applying them per person, in 更新順番号 order.

Claiming uses ``FOR UPDATE SKIP LOCKED`` so workers never take the same rows; a
transaction-level advisory lock per person makes sure one person's notices are applied by
one worker at a time (``pg_try_advisory_xact_lock``: a busy person is simply left pending
for the next round, so no worker waits on another and no deadlock can form).
"""

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit import access_log, context
from jukinet.models import InboxNotice, InboxState, NoticeFile

logger = logging.getLogger(__name__)

# Each file applies a batch of people at once (set-based writes) or one person at a time.
APPLIERS = {
    NoticeFile.HONNIN: "honnin.services.notices_apply_batch",
    NoticeFile.FUHYO: "fuhyo.services.notices_apply_person",
}
CURRENT_TABLES = {NoticeFile.HONNIN: "honnin_resident", NoticeFile.FUHYO: "fuhyo_record"}


def _try_person_lock(file: str, juminhyo_code: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [f"notice:{file}:{juminhyo_code}"])
        return cursor.fetchone()[0]


def inbox_apply_batch(*, file: str, limit: int = 500) -> int:
    """Apply up to ``limit`` pending notices; return how many were claimed."""
    applier = import_string(APPLIERS[file])
    with context.acting(actor_kind="system", actor="notice-worker"), transaction.atomic():
        claimed = list(
            InboxNotice.objects.select_for_update(skip_locked=True)
            .filter(file=file, state=InboxState.PENDING)
            .order_by("id")[:limit]
        )
        if not claimed:
            return 0
        by_person: dict[str, list[InboxNotice]] = defaultdict(list)
        for notice in claimed:
            by_person[notice.juminhyo_code].append(notice)
        groups = {code: notices for code, notices in by_person.items() if _try_person_lock(file, code)}
        held = InboxNotice.objects.select_for_update(skip_locked=True).filter(
            file=file, juminhyo_code__in=list(groups), state=InboxState.HELD
        )
        for notice in held:
            groups[notice.juminhyo_code].append(notice)
        if applier.__name__.endswith("_batch"):
            applier(groups)
        else:
            for code, notices in groups.items():
                applier(code, notices)
        counts = defaultdict(int)
        for notice in claimed:
            counts[notice.state] += 1
        access_log.log_event(
            action="notice.apply",
            target_file=file,
            detail=" ".join(f"{state}={n}" for state, n in sorted(counts.items())),
        )
    return len(claimed)


def inbox_release_held(*, file: str) -> int:
    """Held notices whose gap has been filled since go back to pending (a set-based sweep)."""
    table = CURRENT_TABLES[file]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE jukinet_inboxnotice AS n SET state = 'pending'
            FROM {table} AS c
            WHERE n.file = %s AND n.state = 'held'
              AND c.juminhyo_code = n.juminhyo_code AND n.update_seq = c.update_seq + 1
            """,  # noqa: S608 - table names come from the fixed mapping above
            [file],
        )
        released = cursor.rowcount
        # A held non-entry notice for a person who now exists (their entry arrived later).
        cursor.execute(
            f"""
            UPDATE jukinet_inboxnotice AS n SET state = 'pending'
            FROM {table} AS c
            WHERE n.file = %s AND n.state = 'held'
              AND c.juminhyo_code = n.juminhyo_code AND n.update_seq <= c.update_seq
            """,  # noqa: S608
            [file],
        )
        return released + cursor.rowcount


def inbox_hold_alerts(*, file: str) -> int:
    """Alert once per notice held longer than JUKINET_NOTICE_HOLD_ALERT_SECONDS."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.NOTICE_HOLD_ALERT_SECONDS)
    with context.acting(actor_kind="system", actor="notice-sweeper"), transaction.atomic():
        overdue = list(
            InboxNotice.objects.select_for_update(skip_locked=True).filter(
                file=file, state=InboxState.HELD, held_since__lt=cutoff, hold_alerted_at__isnull=True
            )[:1000]
        )
        for notice in overdue:
            access_log.log_event(
                action="notice.hold_alert",
                outcome="error",
                target_file=file,
                target_code=notice.juminhyo_code,
                detail=f"更新順番号 {notice.update_seq} が欠番待ちのまま保留されています（通知 {notice.notice_id}）",
            )
            logger.warning("notice held past the alert time: file=%s notice=%s", file, notice.notice_id)
        InboxNotice.objects.filter(pk__in=[n.pk for n in overdue]).update(hold_alerted_at=timezone.now())
    return len(overdue)
