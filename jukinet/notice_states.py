"""The end states of an inbox notice that both files' apply steps share (DESIGN.md §4.1).

``notices_apply_person`` of each file decides, per notice, to apply, reject or hold it; the
rejection and the hold look the same in both files, and so does the retention date of the
history row the apply step writes. They live here so that neither file imports the other
(DESIGN.md §5).
"""

import datetime as dt

from django.conf import settings

from jukinet.models import InboxNotice, InboxState
from jukinet.notice_rules import NoticeRejected


def notice_reject(notice: InboxNotice, error: NoticeRejected, now) -> None:
    """The notice is refused at the logic stage; its 更新順番号 stays free for a corrected one."""
    notice.state = InboxState.REJECTED
    notice.error_code, notice.error_message, notice.error_field = error.code, error.message[:300], error.field[:40]
    notice.decided_at = now
    notice.save(update_fields=["state", "error_code", "error_message", "error_field", "decided_at"])


def notice_hold(notice: InboxNotice, now) -> None:
    """The notice waits for a missing 更新順番号 (or its person's entry); ``held_since`` is
    kept from the first hold so the alert timer does not restart on every round."""
    if notice.state != InboxState.HELD:
        notice.state = InboxState.HELD
        notice.held_since = now
        notice.save(update_fields=["state", "held_since"])


def notice_applied(notice: InboxNotice, now) -> None:
    notice.state = InboxState.APPLIED
    notice.decided_at = now
    notice.held_since = None
    notice.save(update_fields=["state", "decided_at", "held_since"])


def retain_until(today: dt.date) -> dt.date:
    """The 保存期限 of a history row superseded ``today`` (settings.HISTORY_RETENTION_YEARS)."""
    years = settings.HISTORY_RETENTION_YEARS
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)
