"""Reads for the update-notice status pages: the inbox by municipality, held and rejected
notices with their reasons, and the outbox backlog.

Nothing here reads the record items or the sealed 個人番号: list and detail querysets name
their columns with ``only()``, so a template cannot reach ``record`` or ``payload`` without a
visible extra query (and the tests look for the record's values in every page).
"""

import csv
import datetime as dt
import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from jukinet.models import InboxNotice, InboxState, NoticeFile, OutboxNotice, OutboxState

# The states the list shows when none is chosen: the ones a person has to look at.
ATTENTION_STATES = (InboxState.HELD.value, InboxState.REJECTED.value)

# Columns the pages may show. Never ``record``, never ``my_number``.
LIST_FIELDS = (
    "id",
    "file",
    "notice_id",
    "municipality_code",
    "juminhyo_code",
    "update_seq",
    "change_reason",
    "state",
    "error_code",
    "error_message",
    "error_field",
    "received_at",
    "held_since",
)
DETAIL_FIELDS = (*LIST_FIELDS, "receipt", "client_id", "changed_on", "decided_at", "hold_alerted_at")
OUTBOX_FIELDS = ("id", "state", "attempts", "next_attempt_at", "last_error", "created_at", "acked_at")


@functools.cache
def municipality_names() -> dict[str, str]:
    """Code (6 digits, with check digit) → name, read once from settings.MUNICIPALITIES_CSV."""
    with open(settings.MUNICIPALITIES_CSV, encoding="utf-8", newline="") as f:
        return {row["code6"]: row["name"] for row in csv.DictReader(f)}


def municipality_name(code: str) -> str:
    return municipality_names().get(code, "（不明な市町村コード）")


# --- Inbox by municipality ---------------------------------------------------------------------


@dataclass
class MunicipalityCounts:
    code: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(InboxState.values, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[tuple[str, int]]:
        """(state, count) in the order of InboxState, for a table row."""
        return [(state, self.counts[state]) for state in InboxState.values]


@dataclass
class FileCounts:
    file: str
    label: str
    municipalities: list[MunicipalityCounts]
    totals: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def total_cells(self) -> list[tuple[str, int]]:
        return [(state, self.totals[state]) for state in InboxState.values]


def inbox_counts() -> list[FileCounts]:
    """Per file, the municipalities that sent anything × the four states, in one GROUP BY."""
    rows = (
        InboxNotice.objects.values("file", "municipality_code", "state")
        .annotate(n=Count("id"))
        .order_by("file", "municipality_code", "state")
    )
    by_file: dict[str, dict[str, MunicipalityCounts]] = {f: {} for f in NoticeFile.values}
    for row in rows:
        municipalities = by_file.setdefault(row["file"], {})
        code = row["municipality_code"]
        if code not in municipalities:
            municipalities[code] = MunicipalityCounts(code=code, name=municipality_name(code))
        municipalities[code].counts[row["state"]] = row["n"]
    labels = dict(NoticeFile.choices)
    result = []
    for file, municipalities in by_file.items():
        totals = dict.fromkeys(InboxState.values, 0)
        for m in municipalities.values():
            for state, n in m.counts.items():
                totals[state] += n
        result.append(
            FileCounts(
                file=file,
                label=labels.get(file, file),
                municipalities=sorted(municipalities.values(), key=lambda m: m.code),
                totals=totals,
            )
        )
    return result


# --- Held and rejected notices -----------------------------------------------------------------


@dataclass(frozen=True)
class NoticeFilter:
    file: str = ""
    municipality: str = ""
    states: tuple[str, ...] = ATTENTION_STATES
    error_code: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive

    def describe(self) -> str:
        """For the access log: codes and dates only."""
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if k != "states" and v not in ("", None)]
        parts.insert(0, "states=" + "+".join(self.states))
        return ", ".join(parts)


def inbox_notices(notice_filter: NoticeFilter) -> QuerySet[InboxNotice]:
    """Notices matching the filter, newest first."""
    notices = InboxNotice.objects.only(*LIST_FIELDS)
    if notice_filter.file:
        notices = notices.filter(file=notice_filter.file)
    if notice_filter.municipality:
        notices = notices.filter(municipality_code=notice_filter.municipality)
    if notice_filter.states != tuple(InboxState.values):
        notices = notices.filter(state__in=notice_filter.states)
    if notice_filter.error_code:
        notices = notices.filter(error_code=notice_filter.error_code)
    if notice_filter.since:
        notices = notices.filter(received_at__gte=notice_filter.since)
    if notice_filter.until:
        notices = notices.filter(received_at__lt=notice_filter.until)
    return notices.order_by("-received_at", "-id")


def inbox_notice(*, file: str, notice_id: str) -> InboxNotice | None:
    return InboxNotice.objects.only(*DETAIL_FIELDS).filter(file=file, notice_id=notice_id).first()


def outbox_notice(*, file: str, notice_id: str) -> OutboxNotice | None:
    """The forwarding state of one notice (never its payload)."""
    return OutboxNotice.objects.only(*OUTBOX_FIELDS).filter(file=file, notice_id=notice_id).first()


# --- Outbox backlog ----------------------------------------------------------------------------


@dataclass
class Backlog:
    file: str
    label: str
    pending: int = 0
    oldest_pending_at: dt.datetime | None = None
    max_attempts: int = 0
    last_error: str = ""
    next_attempt_at: dt.datetime | None = None
    done_last_hour: int = 0
    now: dt.datetime | None = None

    @property
    def oldest_age_seconds(self) -> float:
        if self.oldest_pending_at is None or self.now is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_pending_at).total_seconds())

    @property
    def oldest_age_minutes(self) -> int:
        return int(self.oldest_age_seconds // 60)

    @property
    def alert(self) -> bool:
        return self.pending > 0 and self.oldest_age_seconds > settings.OUTBOX_BACKLOG_ALERT_SECONDS


class _OncePerGroup(Subquery):
    """A subquery correlated only with the GROUP BY column. Django would also group by it,
    which makes PostgreSQL run it once per row of the backlog; kept out of the GROUP BY it
    runs once per group."""

    def get_group_by_cols(self):
        return []


def outbox_backlog() -> list[Backlog]:
    """Per file: what waits for the national server and what it acknowledged in the last hour.

    One aggregate query. The error shown is the one of the pending row retried most often
    (the oldest of those), which is the row that holds its person's later notices back.
    """
    now = timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    pending = Q(state=OutboxState.PENDING)
    last_error = (
        OutboxNotice.objects.filter(file=OuterRef("file"), state=OutboxState.PENDING)
        .exclude(last_error="")
        .order_by("-attempts", "created_at", "id")
        .values("last_error")[:1]
    )
    rows = (
        OutboxNotice.objects.filter(pending | Q(state=OutboxState.DONE, acked_at__gte=hour_ago))
        .values("file")
        .annotate(
            pending=Count("id", filter=pending),
            oldest=Min("created_at", filter=pending),
            max_attempts=Max("attempts", filter=pending),
            next_attempt=Min("next_attempt_at", filter=pending),
            done_last_hour=Count("id", filter=Q(state=OutboxState.DONE)),
            last_error=_OncePerGroup(last_error),
        )
        .order_by("file")
    )
    labels = dict(NoticeFile.choices)
    backlog = {f: Backlog(file=f, label=labels[f], now=now) for f in NoticeFile.values}
    for row in rows:
        backlog[row["file"]] = Backlog(
            file=row["file"],
            label=labels.get(row["file"], row["file"]),
            pending=row["pending"],
            oldest_pending_at=row["oldest"],
            max_attempts=row["max_attempts"] or 0,
            last_error=row["last_error"] or "",
            next_attempt_at=row["next_attempt"],
            done_last_hour=row["done_last_hour"],
            now=now,
        )
    return list(backlog.values())
