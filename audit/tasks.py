"""Background work for the access log: the sealer (every 2 s) and the daily chain head.

Both are idempotent and safe to run twice at once: the sealer takes an advisory lock (a
second run returns 0 at once) and publishing a head twice just records the same head twice.
"""

from celery import shared_task
from celery.schedules import crontab

from audit import log_chain

# Merged into settings.CELERY_BEAT_SCHEDULE. The sealer's messages expire: if no worker is up,
# beat would otherwise queue one every 2 s; any later run seals everything left behind.
BEAT_SCHEDULE = {
    "audit-seal-log": {"task": "audit.seal_log", "schedule": 2.0, "options": {"expires": 10}},
    "audit-publish-head": {"task": "audit.publish_chain_head", "schedule": crontab(hour=0, minute=5)},
}


@shared_task(name="audit.seal_log", time_limit=60, soft_time_limit=50, ignore_result=True)
def seal_log() -> int:
    return log_chain.seal_pending()


@shared_task(name="audit.publish_chain_head", time_limit=30 * 60, soft_time_limit=25 * 60)
def publish_chain_head() -> dict:
    head = log_chain.publish_chain_head()
    return {"seal_seq": head.seal_seq, "entry_hash": head.entry_hash, "key_id": head.key_id}


@shared_task(name="exports.produce", time_limit=60 * 60, soft_time_limit=60 * 60 - 30, ignore_result=True)
def exports_produce(export_id: str) -> str:
    """Write an approved large output's file (audit.exports)."""
    from audit.exports import export_produce

    return export_produce(export_id=export_id)


@shared_task(name="exports.sweep", time_limit=300, soft_time_limit=280, ignore_result=True)
def exports_sweep() -> dict:
    """Beat, every minute: produce approved exports left behind, erase expired files."""
    from audit.exports import exports_sweep as sweep

    return sweep()
