"""Retention of the fuhyo file (docs/retention.md): the same rule as the honnin file.

- The previous version of a changed row (FuhyoHistory) goes the day after ``retain_until``.
- A removed row (status 消除) goes once the period counted from the day the prefecture
  recorded the removal (``stamped_at``) has passed, and only when none of its history is kept.
- Current rows stay until the next update. The 個人番号 temporary area keeps its own, much
  shorter erasure (fuhyo.services_my_number). Counts only, never contents.
"""

import datetime as dt

from django.db.models import Min

from fuhyo.models import FuhyoHistory, FuhyoRecord, FuhyoStatus
from jukinet.notice_states import retain_until
from jukinet.retention_sql import erase_in_batches, removal_cutoff

_REMOVED = "r.status = %s AND r.stamped_at < %s AND NOT EXISTS (SELECT 1 FROM fuhyo_history h WHERE h.record_id = r.id)"


def fuhyo_erase_expired(*, today: dt.date) -> dict[str, int]:
    from django.utils import timezone

    history = erase_in_batches(
        table="fuhyo_history", key="retain_until", condition="r.retain_until < %s", params=[today]
    )
    # stamped_at is a timestamp: the removal day ends at local midnight of the cutoff day.
    cutoff = removal_cutoff(today)
    cutoff_at = timezone.make_aware(dt.datetime.combine(cutoff, dt.time.min))
    removed = erase_in_batches(
        table="fuhyo_record", key="stamped_at", condition=_REMOVED, params=[FuhyoStatus.REMOVED, cutoff_at]
    )
    return {"fuhyo_history": history, "fuhyo_removed": removed}


def fuhyo_next_expiries() -> dict[str, dt.date | None]:
    history = FuhyoHistory.objects.aggregate(first=Min("retain_until"))["first"]
    removed_at = FuhyoRecord.objects.filter(status=FuhyoStatus.REMOVED).aggregate(first=Min("stamped_at"))["first"]
    removed = None
    if removed_at is not None:
        from django.utils import timezone

        removed = retain_until(timezone.localdate(removed_at))
    return {"fuhyo_history": history, "fuhyo_removed": removed}
