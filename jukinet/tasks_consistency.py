"""Celery tasks of the consistency check (整合性確認): thin, they take ids and call jukinet.consistency.

The check is a row (DESIGN.md §9): a lost message delays it until the beat sweeper
(``consistency.sweep``) wakes the comparer again, and a comparison killed midway resumes at the
first slice not committed. Registered through ``CELERY_IMPORTS``.
"""

from celery import shared_task


@shared_task(name="consistency.compare", time_limit=30 * 60, soft_time_limit=28 * 60, ignore_result=True)
def consistency_compare(check_id: str) -> str:
    from jukinet.consistency import consistency_compare as compare

    return compare(check_id=check_id)


@shared_task(name="consistency.sweep", time_limit=120, soft_time_limit=100, ignore_result=True)
def consistency_sweep() -> dict:
    """Beat: wake checks left behind, erase differences past CONSISTENCY_KEEP_DAYS."""
    from jukinet.consistency import consistency_sweep as sweep

    return sweep()
