"""Reads of the inquiry log: the filtered list and one inquiry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from disclosure.models import Inquiry

PAGE_SIZE = 50


@dataclass(frozen=True)
class InquiryFilter:
    since: dt.date | None = None  # received on or after (Japan time)
    until: dt.date | None = None  # received on or before
    answered: str = ""  # "" every, "yes", "no"
    channel: str = ""

    def describe(self) -> str:
        """For the log: the conditions, never what was asked."""
        parts = [
            f"{self.since.isoformat() if self.since else ''}〜{self.until.isoformat() if self.until else ''}",
            {"yes": "回答済み", "no": "未回答"}.get(self.answered, "回答状況すべて"),
            self.channel or "受付方法すべて",
        ]
        return " ".join(parts)


def inquiry_list(inquiry_filter: InquiryFilter) -> QuerySet[Inquiry]:
    """Newest first, without the answer text (the detail page shows it)."""
    tz = timezone.get_current_timezone()
    rows = Inquiry.objects.defer("answer")
    if inquiry_filter.since:
        rows = rows.filter(received_at__gte=dt.datetime.combine(inquiry_filter.since, dt.time.min, tzinfo=tz))
    if inquiry_filter.until:
        next_day = inquiry_filter.until + dt.timedelta(days=1)
        rows = rows.filter(received_at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    if inquiry_filter.answered == "yes":
        rows = rows.exclude(answered_at__isnull=True)
    elif inquiry_filter.answered == "no":
        rows = rows.filter(answered_at__isnull=True)
    if inquiry_filter.channel:
        rows = rows.filter(channel=inquiry_filter.channel)
    return rows.order_by("-received_at", "-id")


def inquiry_get(*, pk: int) -> Inquiry | None:
    return Inquiry.objects.select_related("follows").filter(pk=pk).first()
