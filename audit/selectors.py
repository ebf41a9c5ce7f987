"""Reads for the audit app: the access log viewer's filtered query."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from audit.models import AccessLogEntry


@dataclass(frozen=True)
class LogFilter:
    actor: str = ""
    terminal: str = ""
    action: str = ""
    target: str = ""
    outcome: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v not in ("", None)]
        return ", ".join(parts) or "条件なし"


def access_log_entries(log_filter: LogFilter) -> QuerySet[AccessLogEntry]:
    entries = AccessLogEntry.objects.all()
    if log_filter.actor:
        entries = entries.filter(actor=log_filter.actor)
    if log_filter.terminal:
        entries = entries.filter(terminal=log_filter.terminal)
    if log_filter.action:
        # A prefix selects a family ("login" → login, login.failed, login.otp_failed …).
        entries = entries.filter(action__startswith=log_filter.action)
    if log_filter.target:
        entries = entries.filter(target_code=log_filter.target)
    if log_filter.outcome:
        entries = entries.filter(outcome=log_filter.outcome)
    if log_filter.since:
        entries = entries.filter(occurred_at__gte=log_filter.since)
    if log_filter.until:
        entries = entries.filter(occurred_at__lt=log_filter.until)
    return entries.order_by("-occurred_at", "-id")
