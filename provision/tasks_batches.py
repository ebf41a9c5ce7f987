"""Celery tasks of batch provision: thin, they take ids and call provision.batch.

The batch itself is a row (DESIGN.md §9): a lost message delays it until the beat sweeper
(``provision.batches_sweep``) wakes the runner again, and a run killed midway resumes at the
last committed chunk. Registered through ``CELERY_IMPORTS`` (this module is not an app's
``tasks.py``, which is all that ``autodiscover_tasks`` finds).
"""

from celery import shared_task


@shared_task(name="provision.batch_run", time_limit=30 * 60, soft_time_limit=28 * 60, ignore_result=True)
def batch_run(batch_id: str) -> str:
    """Run or resume one approved batch (a time limit leaves whole chunks; the sweeper resumes)."""
    from provision.batch import batch_run as run

    return run(batch_id=batch_id)


@shared_task(name="provision.batches_sweep", time_limit=60, soft_time_limit=50, ignore_result=True)
def batches_sweep() -> int:
    """Beat: wake the runner for approved batches and for running ones whose worker is gone."""
    from provision.batch import batches_sweep as sweep

    return len(sweep())
