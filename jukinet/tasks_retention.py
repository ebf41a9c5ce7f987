"""The daily retention erasure task (docs/retention.md).

Its own module, not jukinet/tasks.py: the erasure reaches both files, and jukinet.tasks is
imported by the update flow of each; the import contracts keep honnin and fuhyo apart.
"""

from celery import shared_task


@shared_task(
    name="retention.erase_expired", time_limit=6 * 60 * 60, soft_time_limit=6 * 60 * 60 - 60, ignore_result=True
)
def retention_erase_expired() -> int:
    """Beat, daily: erase history, 消除者 and old notice payloads past their retention."""
    from jukinet.retention import retention_erase_expired as erase

    run = erase()
    return run.total if run is not None else 0
