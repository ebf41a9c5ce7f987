"""The access/operation log (操作記録): writing entries.

Sealing (the hash chain), verification and the published chain head live in
``audit/log_chain.py``. Call ``log_event`` inside the transaction of the action it records,
so an action and its log entry commit or roll back together.
"""

import re

from django.utils import timezone

from audit import context
from audit.models import AccessLogEntry
from jukinet.log_redaction import redact

Outcome = AccessLogEntry.Outcome
# NUL cannot be stored by PostgreSQL and other control characters only hide things in a log.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str, limit: int) -> str:
    return _CONTROL.sub("\ufffd", str(text))[:limit]


def log_event(
    *,
    action: str,
    outcome: str = Outcome.OK,
    target_file: str = "",
    target_code: str = "",
    duty: str = "",
    detail: str = "",
) -> AccessLogEntry:
    ctx = context.current()
    return AccessLogEntry.objects.create(
        occurred_at=timezone.now(),
        actor_kind=ctx.actor_kind,
        actor=_clean(ctx.actor, 40),
        terminal=_clean(ctx.terminal, 32),
        action=_clean(action, 40),
        target_file=_clean(target_file, 8),
        target_code=_clean(target_code, 40),
        duty=_clean(duty, 40),
        outcome=outcome,
        # Defence in depth: a 個人番号 never reaches the log, even through a careless detail.
        detail=_clean(redact(str(detail)), 500),
        request_id=ctx.request_id,
        remote_addr=_clean(ctx.remote_addr, 45),
    )


def log_refusal(*, action: str, detail: str = "", **fields) -> AccessLogEntry:
    """Record a refusal. Call it after the refused service's transaction has ended (views do,
    when they catch the domain error), so the rollback of the refused work keeps the record."""
    return log_event(action=action, outcome=Outcome.REFUSED, detail=detail, **fields)
