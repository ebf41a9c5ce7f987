"""Retention of the honnin file (住基法施行令第30条の6; docs/retention.md).

- 修正前の本人確認情報 (ResidentHistory) goes the day after its ``retain_until``.
- 消除者 (a Resident row with ``deleted``) goes once the period counted from the day the
  prefecture recorded the removal (``notified_on``, never earlier than the municipality's
  消除) has passed, and only when none of its history is still kept.
- Current rows are never erased here: they stay until the next update replaces them.
Counts only: what an erased row held is never logged.
"""

import datetime as dt

from django.db.models import Min

from honnin.models import Resident, ResidentHistory
from jukinet.notice_states import retain_until
from jukinet.retention_sql import erase_in_batches, removal_cutoff

# A removed person's last history row was superseded by the removal itself, so both expire
# together; NOT EXISTS keeps the current row while any history row is still kept (the FK
# protects it anyway) instead of failing the batch.
_REMOVED = (
    "r.deleted AND r.notified_on < %s"
    " AND NOT EXISTS (SELECT 1 FROM honnin_resident_history h WHERE h.resident_id = r.id)"
)


def honnin_erase_expired(*, today: dt.date) -> dict[str, int]:
    history = erase_in_batches(
        table="honnin_resident_history", key="retain_until", condition="r.retain_until < %s", params=[today]
    )
    removed = erase_in_batches(
        table="honnin_resident", key="notified_on", condition=_REMOVED, params=[removal_cutoff(today)]
    )
    return {"honnin_history": history, "honnin_removed": removed}


def honnin_next_expiries() -> dict[str, dt.date | None]:
    """The earliest day on which a kept row of each kind expires (for the retention page)."""
    history = ResidentHistory.objects.aggregate(first=Min("retain_until"))["first"]
    removed = Resident.objects.filter(deleted=True).aggregate(first=Min("notified_on"))["first"]
    return {"honnin_history": history, "honnin_removed": _expiry_of_removal(removed)}


def _expiry_of_removal(removed_on: dt.date | None) -> dt.date | None:
    return retain_until(removed_on) if removed_on is not None else None
