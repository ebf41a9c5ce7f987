import logging

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


def wake(task, *args, countdown: float | None = None) -> None:
    """Queue a wake-up without ever failing the caller: the work itself is a row in
    PostgreSQL, and the beat sweeper finds it if this message is lost (Redis down…)."""
    try:
        task.apply_async(args, countdown=countdown, retry=False, ignore_result=True)
    except Exception as exc:  # the broker is unreachable: the sweeper will catch up
        logger.warning("could not queue %s (%s); the sweeper will pick the work up", task.name, type(exc).__name__)


def wake_on_commit(task, *args, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: wake(task, *args, countdown=countdown), robust=True)


@shared_task(name="jukinet.ping", time_limit=10, soft_time_limit=5, ignore_result=False)
def ping() -> str:
    """Liveness probe: proves a worker is consuming the broker."""
    return "pong"


@shared_task(name="notices.apply", time_limit=300, soft_time_limit=280, ignore_result=True)
def notices_apply(file: str) -> int:
    """Apply pending notices until none is left (a few minutes at most, then the sweeper).
    The forwarder is woken every few thousand notices and at the end: on two cores, a
    forwarder running beside every apply batch halves the apply workers (measured)."""
    from jukinet.notice_apply import inbox_apply_batch, inbox_release_held

    total = since_forward = 0
    while True:
        claimed = inbox_apply_batch(file=file)
        total += claimed
        since_forward += claimed
        if since_forward >= 5000:
            wake(notices_forward, file)
            since_forward = 0
        if not claimed and not inbox_release_held(file=file):
            break
    if total:
        wake(notices_forward, file)
    return total


@shared_task(name="notices.sweep", time_limit=120, soft_time_limit=100, ignore_result=True)
def notices_sweep() -> None:
    """Beat: re-queue work left behind (a killed worker, a lost message) and raise hold alerts."""
    from jukinet.models import InboxNotice, InboxState, NoticeFile, OutboxNotice, OutboxState
    from jukinet.notice_apply import inbox_hold_alerts, inbox_release_held
    from jukinet.notice_forward import outbox_backlog_alert

    for file in NoticeFile.values:
        inbox_release_held(file=file)
        if InboxNotice.objects.filter(file=file, state=InboxState.PENDING).exists():
            wake(notices_apply, file)
        if OutboxNotice.objects.filter(file=file, state=OutboxState.PENDING).exists():
            wake(notices_forward, file)
        inbox_hold_alerts(file=file)
        outbox_backlog_alert(file=file)


@shared_task(name="notices.forward", time_limit=300, soft_time_limit=280, ignore_result=True)
def notices_forward(file: str) -> int:
    from jukinet.notice_forward import outbox_forward

    return outbox_forward(file=file)
