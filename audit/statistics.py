"""Monthly statistics (統計): updates, provisions, disclosures and the desk's other work.

Counts only. Every figure is a ``COUNT(*) … GROUP BY month, <category>`` over a range of at
most 24 months, so the page costs a fixed number of queries whatever the size of the tables
(docs/statistics.md says what is counted from where and which date decides the month).
Municipalities, machine clients and duties are named; no person is, and no row of personal
data is read.

The assessment asks that statistical work be justified and recorded (「統計処理を行う場合、
その必要性について十分検討を行い、作業内容を記録する」): :func:`statistics_produce` and
:func:`statistics_export` take the operator's stated purpose and write it, with the period
and the sections, to the access log.

audit is the lowest app: the other apps' models are imported inside the functions that read
them, so that importing audit never imports them (and no import cycle can form).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, DateTimeField, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from audit import access_log
from audit.models import MachineClient
from audit.permissions import ensure_permitted
from jukinet.errors import InvalidInput

MAX_MONTHS = 24
DEFAULT_MONTHS = 12
PURPOSE_MAX_LENGTH = 200
FIRST_YEAR = 2000

SECTIONS: dict[str, str] = {
    "updates": "更新（異動事由別・市町村別）",
    "provisions": "提供・移転（提供先別・事務別）",
    "disclosures": "開示請求・訂正等の申出・問合せ",
}

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# An 11-digit 住民票コード or a 12-digit 個人番号 has no place in a statement of purpose.
_LONG_DIGITS = re.compile(r"[0-9]{11,}")


# --- The request: period, sections, purpose -----------------------------------------------------


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_label(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


@dataclass(frozen=True)
class Period:
    """Whole months from ``first`` to ``last`` (both the first day of their month), inclusive."""

    first: dt.date
    last: dt.date

    @property
    def months(self) -> list[dt.date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [_add_months(self.first, i) for i in range(count)]

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return _add_months(self.last, 1)

    def datetimes(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as [start, end) in the local time zone, for DateTimeFields."""
        tz = timezone.get_current_timezone()
        return (
            dt.datetime.combine(self.first, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end, dt.time.min, tzinfo=tz),
        )

    @property
    def label(self) -> str:
        return f"{_month_label(self.first)}〜{_month_label(self.last)}"

    @property
    def code(self) -> str:
        return f"{self.first:%Y-%m}..{self.last:%Y-%m}"


def default_period(today: dt.date | None = None) -> Period:
    """The last twelve months, this month included."""
    today = today or timezone.localdate()
    last = today.replace(day=1)
    return Period(first=_add_months(last, 1 - DEFAULT_MONTHS), last=last)


@dataclass(frozen=True)
class StatisticsRequest:
    period: Period
    sections: tuple[str, ...]
    purpose: str

    def describe(self) -> str:
        """For the access log: the period, the sections and the purpose (no personal data)."""
        return f"期間 {self.period.code} 集計 {','.join(self.sections)} 作業内容「{self.purpose}」"


def parse_month(value: str, *, field: str, label: str, today: dt.date | None = None) -> dt.date:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise InvalidInput(f"{label}を入力してください（例: 2025-04）。", code="E_STATS_MONTH_REQUIRED", field=field)
    match = _MONTH.match(text) if len(text) <= 7 else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(f"{label}は「2025-04」のように年と月で入力してください。", code="E_STATS_MONTH", field=field)
    month = dt.date(int(match.group(1)), int(match.group(2)), 1)
    this_month = (today or timezone.localdate()).replace(day=1)
    if month.year < FIRST_YEAR or month > this_month:
        raise InvalidInput(
            f"{label}は{FIRST_YEAR}年1月から今月までの範囲で入力してください。", code="E_STATS_MONTH_RANGE", field=field
        )
    return month


def clean_purpose(value: str) -> str:
    purpose = (value or "").strip()  # kept as written (full-width brackets stay full width)
    if not purpose:
        raise InvalidInput(
            "作業内容（統計を作成する目的）を入力してください。", code="E_STATS_PURPOSE_REQUIRED", field="purpose"
        )
    if len(purpose) > PURPOSE_MAX_LENGTH or _CONTROL.search(purpose):
        raise InvalidInput(
            f"作業内容は{PURPOSE_MAX_LENGTH}文字以内で、制御文字を含めずに入力してください。",
            code="E_STATS_PURPOSE",
            field="purpose",
        )
    if _LONG_DIGITS.search(unicodedata.normalize("NFKC", purpose)):
        raise InvalidInput(
            "作業内容に住民票コードや個人番号のような長い数字を含めないでください。",
            code="E_STATS_PURPOSE_DIGITS",
            field="purpose",
        )
    return purpose


def statistics_request(
    *, from_month: str, to_month: str, sections: Iterable[str], purpose: str, today: dt.date | None = None
) -> StatisticsRequest:
    """Check what the operator asked for; raise InvalidInput (with the field) on the first fault."""
    first = parse_month(from_month, field="from_month", label="開始月", today=today)
    last = parse_month(to_month, field="to_month", label="終了月", today=today)
    if first > last:
        raise InvalidInput("終了月は開始月以降にしてください。", code="E_STATS_PERIOD_ORDER", field="to_month")
    period = Period(first=first, last=last)
    if len(period.months) > MAX_MONTHS:
        raise InvalidInput(
            f"集計期間は{MAX_MONTHS}か月以内にしてください。", code="E_STATS_PERIOD_TOO_LONG", field="to_month"
        )
    chosen = tuple(key for key in SECTIONS if key in set(sections))
    if not chosen or len(chosen) != len(set(sections)):
        raise InvalidInput("集計する項目を1つ以上選んでください。", code="E_STATS_SECTION", field="sections")
    return StatisticsRequest(period=period, sections=chosen, purpose=clean_purpose(purpose))


# --- Tables and charts -----------------------------------------------------------------------------


@dataclass
class Row:
    code: str
    label: str
    counts: list[int]
    detail: str = ""  # a breakdown within the row's category (結果, 状態 …)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Bar:
    center: float
    month_label: str
    year_label: str
    total: int
    segments: list[Segment]


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    total: int


@dataclass(frozen=True)
class Chart:
    """A stacked bar per month, laid out here so the template only draws rectangles."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: float
    month_y: float
    year_y: float
    bars: list[Bar]
    ticks: list[Tick]
    series: list[Series]
    others: int  # rows folded into "その他" (the table below lists them one by one)


@dataclass
class Table:
    key: str
    title: str
    file: str  # "honnin" / "fuhyo" / "" (both or not tied to a file)
    label_header: str
    months: list[dt.date]
    rows: list[Row]
    code_header: str = "コード"
    detail_header: str = ""
    chart: Chart | None = field(default=None, repr=False)

    @property
    def file_label(self) -> str:
        return FILE_LABELS.get(self.file, "")

    @property
    def month_totals(self) -> list[int]:
        return [sum(row.counts[i] for row in self.rows) for i in range(len(self.months))]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table]


@dataclass
class Statistics:
    request: StatisticsRequest
    produced_at: dt.datetime
    sections: list[Section]

    @property
    def months(self) -> list[dt.date]:
        return self.request.period.months

    @property
    def month_labels(self) -> list[str]:
        return [_month_label(m) for m in self.months]


FILE_LABELS = {"honnin": "本人確認情報", "fuhyo": "附票本人確認情報"}
CHART_SERIES = 8  # colours in statistics.css (.s0 … .s7); more rows fold into "その他"
_STEP, _BAR, _LEFT, _RIGHT, _TOP, _PLOT_HEIGHT, _BOTTOM = 34, 22, 64, 12, 14, 180, 40


def _nice_ceiling(value: int) -> int:
    """1, 2, 5 × 10^k at or above ``value`` (an axis that reads well)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def build_chart(table: Table) -> Chart | None:
    """Stacked bars, one per month, in the order of the table's rows (the largest rows get their
    own colour; the rest are summed as その他). None when there is nothing to draw."""
    months = table.months
    rows = [row for row in table.rows if row.total]
    if not rows:
        return None
    if len(rows) > CHART_SERIES:
        ranked = sorted(rows, key=lambda r: -r.total)
        kept = ranked[: CHART_SERIES - 1]
        rest = ranked[CHART_SERIES - 1 :]
        other = Row(code="", label="その他", counts=[sum(r.counts[i] for r in rest) for i in range(len(months))])
        kept_ids = {id(r) for r in kept}
        rows = [r for r in rows if id(r) in kept_ids] + [other]
        others = len(rest)
    else:
        others = 0
    series = [Series(label=_series_label(row), css=f"s{i}", total=row.total) for i, row in enumerate(rows, start=0)]
    top = _nice_ceiling(max(table.month_totals))
    scale = _PLOT_HEIGHT / top
    bottom = _TOP + _PLOT_HEIGHT
    bars = []
    for i, month in enumerate(months):
        center = _LEFT + _STEP * i + _STEP / 2
        x = round(center - _BAR / 2, 2)
        y = float(bottom)
        segments = []
        for row, s in zip(rows, series, strict=True):
            n = row.counts[i]
            if not n:
                continue
            height = n * scale
            y -= height
            segments.append(
                Segment(
                    x=x,
                    y=round(y, 2),
                    width=_BAR,
                    height=round(height, 2),
                    css=s.css,
                    title=f"{_month_label(month)} {s.label}: {n:,}件",
                )
            )
        bars.append(
            Bar(
                center=round(center, 2),
                month_label=f"{month.month}月",
                year_label=f"{month.year}年" if i == 0 or month.month == 1 else "",
                total=sum(row.counts[i] for row in rows),
                segments=segments,
            )
        )
    ticks = [Tick(y=round(bottom - _PLOT_HEIGHT * k / 4, 2), label=f"{top * k // 4:,}") for k in range(5)]
    width = _LEFT + _STEP * len(months) + _RIGHT
    return Chart(
        width=width,
        height=_TOP + _PLOT_HEIGHT + _BOTTOM,
        plot_left=_LEFT,
        plot_right=width - _RIGHT,
        plot_bottom=float(bottom),
        month_y=bottom + 16,
        year_y=bottom + 32,
        bars=bars,
        ticks=ticks,
        series=series,
        others=others,
    )


def _series_label(row: Row) -> str:
    return f"{row.label}（{row.detail}）" if row.detail else row.label


# --- Counting -------------------------------------------------------------------------------------


def _month_of(value: dt.date | dt.datetime) -> dt.date:
    # TruncMonth gives a local-time datetime for a DateTimeField and a date for a DateField.
    return value.date() if isinstance(value, dt.datetime) else value


def _monthly(queryset: QuerySet, date_field: str, *fields: str, **aggregates) -> QuerySet:
    """``COUNT(*)`` (and any other aggregates) per local month and ``fields``."""
    is_datetime = isinstance(queryset.model._meta.get_field(date_field), DateTimeField)
    tz = timezone.get_current_timezone() if is_datetime else None
    return (
        queryset.annotate(month=TruncMonth(date_field, tzinfo=tz))
        .values("month", *fields)
        .annotate(n=Count("id"), **aggregates)
        .order_by()
    )


class _Grid:
    """Counts keyed by row, one cell per month of the period."""

    def __init__(self, months: list[dt.date]):
        self.index = {m: i for i, m in enumerate(months)}
        self.width = len(months)
        self.cells: dict[tuple, list[int]] = {}

    def add(self, key: tuple, month, n: int) -> None:
        i = self.index.get(_month_of(month))
        if i is None:  # cannot happen with the range filter; never let it raise on a page
            return
        self.cells.setdefault(key, [0] * self.width)[i] += n

    def get(self, key: tuple) -> list[int]:
        return list(self.cells.get(key, [0] * self.width))

    def row_keys(self) -> list[tuple]:
        return list(self.cells)


def update_tables(period: Period) -> list[Table]:
    """Applied notices by 異動事由 and by municipality, and rejected notices, per file.

    The month is that of ``decided_at`` (処理日時: when this server applied or rejected the
    notice), not the 異動年月日 the municipality reported. Two GROUP BY queries.
    """
    # Imported here: audit sits below the other apps (module docstring).
    from fuhyo.models import FuhyoChangeReason
    from honnin.models import ChangeReason
    from jukinet.models import InboxNotice, InboxState
    from jukinet.selectors_notices import municipality_name

    months = period.months
    start, end = period.datetimes()
    decided = InboxNotice.objects.filter(
        decided_at__gte=start, decided_at__lt=end, state__in=[InboxState.APPLIED, InboxState.REJECTED]
    )
    by_reason = _Grid(months)
    for row in _monthly(decided.filter(state=InboxState.APPLIED), "decided_at", "file", "change_reason"):
        by_reason.add((row["file"], row["change_reason"]), row["month"], row["n"])
    by_municipality = _Grid(months)
    for row in _monthly(decided, "decided_at", "file", "municipality_code", "state"):
        by_municipality.add((row["file"], row["municipality_code"], row["state"]), row["month"], row["n"])

    state_order = [InboxState.APPLIED, InboxState.REJECTED]
    state_labels = {InboxState.APPLIED: "反映", InboxState.REJECTED: "エラー"}
    reasons = {"honnin": list(ChangeReason.values), "fuhyo": list(FuhyoChangeReason.values)}
    tables = []
    for file in ("honnin", "fuhyo"):
        outcome_rows = []
        for state in state_order:
            counts = [0] * len(months)
            for key in by_municipality.row_keys():
                if key[0] == file and key[2] == state:
                    counts = [a + b for a, b in zip(counts, by_municipality.get(key), strict=True)]
            outcome_rows.append(Row(code=state, label=state_labels[state], counts=counts))
        tables.append(
            Table(
                key=f"updates_{file}_outcome",
                title="更新通知の処理結果（反映・エラー）",
                file=file,
                label_header="処理結果",
                months=months,
                rows=outcome_rows,
            )
        )
        known = reasons[file]
        seen = sorted({key[1] for key in by_reason.row_keys() if key[0] == file} - set(known))
        reason_rows = [
            Row(code="", label=r or "（異動事由なし）", counts=by_reason.get((file, r))) for r in known + seen
        ]
        tables.append(
            Table(
                key=f"updates_{file}_reason",
                title="異動事由別の更新件数（反映したもの）",
                file=file,
                label_header="異動事由",
                months=months,
                rows=reason_rows,
            )
        )
        codes = sorted({key[1] for key in by_municipality.row_keys() if key[0] == file})
        municipality_rows = [
            Row(
                code=code,
                label=municipality_name(code),
                detail=state_labels[state],
                counts=by_municipality.get((file, code, state)),
            )
            for code in codes
            for state in state_order
        ]
        tables.append(
            Table(
                key=f"updates_{file}_municipality",
                title="市町村別の更新通知（反映・エラー）",
                file=file,
                label_header="市町村",
                code_header="市町村コード",
                detail_header="処理結果",
                months=months,
                rows=[row for row in municipality_rows if row.total],
            )
        )
    for table in tables:
        if not table.key.endswith("_municipality"):
            table.chart = build_chart(table)
    return tables


def provision_tables(period: Period) -> list[Table]:
    """Provisions (提供・移転), refusals included, by outcome, by recipient and by duty.

    One row of provision.ProvisionRecord is one answered, refused or failed request (a batch
    has one per row of its conditions file); the month is that of ``occurred_at``. Two GROUP BY
    queries, and one each for the names of the clients and the duties.
    """
    # Imported here: audit sits below the other apps (module docstring).
    from provision.models import Duty, Outcome, ProvisionRecord

    months = period.months
    start, end = period.datetimes()
    records = ProvisionRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    outcomes = list(Outcome.values)
    outcome_labels = dict(Outcome.choices)

    by_client = _Grid(months)
    recorded_names: dict[str, str] = {}
    for row in _monthly(records, "occurred_at", "client_id", "client_name", "outcome"):
        # A client is one row whatever name it had; a batch without a client is its recipient.
        key = row["client_id"] or f"name:{row['client_name']}"
        recorded_names.setdefault(key, row["client_name"])
        by_client.add((key, row["outcome"]), row["month"], row["n"])
    by_duty = _Grid(months)
    for row in _monthly(records, "occurred_at", "duty_code", "outcome"):
        by_duty.add((row["duty_code"], row["outcome"]), row["month"], row["n"])

    client_ids = sorted({key[0] for key in by_client.row_keys() if not key[0].startswith("name:")})
    client_names = dict(MachineClient.objects.filter(client_id__in=client_ids).values_list("client_id", "name"))
    duty_codes = sorted({key[0] for key in by_duty.row_keys()})
    duty_names = dict(Duty.objects.filter(code__in=[c for c in duty_codes if c]).values_list("code", "name"))

    outcome_rows = []
    for outcome in outcomes:
        counts = [0] * len(months)
        for key in by_duty.row_keys():
            if key[1] == outcome:
                counts = [a + b for a, b in zip(counts, by_duty.get(key), strict=True)]
        outcome_rows.append(Row(code=outcome, label=outcome_labels[outcome], counts=counts))

    def client_label(key: str) -> tuple[str, str]:
        if key.startswith("name:"):
            return "", recorded_names[key] or "（提供先の記録なし）"
        return key, client_names.get(key) or recorded_names.get(key) or "（登録のないクライアント）"

    def duty_label(code: str) -> str:
        if not code:
            return "（事務コードの指定なし）"
        return duty_names.get(code, "（登録のない事務コード）")

    client_rows = []
    for key in sorted({key[0] for key in by_client.row_keys()}, key=lambda k: client_label(k)[::-1]):
        code, label = client_label(key)
        for outcome in outcomes:
            counts = by_client.get((key, outcome))
            if any(counts):
                client_rows.append(Row(code=code, label=label, detail=outcome_labels[outcome], counts=counts))
    duty_rows = []
    for code in duty_codes:
        for outcome in outcomes:
            counts = by_duty.get((code, outcome))
            if any(counts):
                duty_rows.append(Row(code=code, label=duty_label(code), detail=outcome_labels[outcome], counts=counts))

    tables = [
        Table(
            key="provisions_outcome",
            title="提供・移転の件数（結果別）",
            file="",
            label_header="結果",
            months=months,
            rows=outcome_rows,
        ),
        Table(
            key="provisions_client",
            title="提供先別の件数",
            file="",
            label_header="提供先",
            code_header="クライアントID",
            detail_header="結果",
            months=months,
            rows=client_rows,
        ),
        Table(
            key="provisions_duty",
            title="事務別の件数",
            file="",
            label_header="事務",
            code_header="事務コード",
            detail_header="結果",
            months=months,
            rows=duty_rows,
        ),
    ]
    tables[0].chart = build_chart(tables[0])
    tables[1].chart = build_chart(tables[1])
    return tables


def disclosure_tables(period: Period) -> list[Table]:
    """The desk: 開示請求, 提供状況の開示請求, 訂正等の申出 and 問合せ, by month received.

    Requests count by ``received_on`` (受付日) and inquiries by ``received_at``; a request's
    state and decision are its state now (a request received in April and decided in May shows
    under April as 決定済み). Four GROUP BY queries.
    """
    # Imported here: audit sits below the other apps (module docstring).
    from disclosure.models import (
        CorrectionKind,
        CorrectionRequest,
        CorrectionState,
        Decision,
        DisclosureRequest,
        DisclosureState,
        Inquiry,
        ProvisionStatusRequest,
    )

    months = period.months
    start, end = period.datetimes()
    in_period = {"received_on__gte": period.first, "received_on__lt": period.end}

    disclosures = _Grid(months)
    for row in _monthly(DisclosureRequest.objects.filter(**in_period), "received_on", "state", "decision"):
        disclosures.add(("all",), row["month"], row["n"])
        disclosures.add(("state", row["state"]), row["month"], row["n"])
        if row["decision"]:
            disclosures.add(("decision", row["decision"]), row["month"], row["n"])
    statuses = _Grid(months)
    for row in _monthly(
        ProvisionStatusRequest.objects.filter(**in_period),
        "received_on",
        issued=Count("id", filter=Q(issued_at__isnull=False)),
    ):
        statuses.add(("all",), row["month"], row["n"])
        statuses.add(("issued",), row["month"], row["issued"])
    corrections = _Grid(months)
    for row in _monthly(CorrectionRequest.objects.filter(**in_period), "received_on", "kind", "state"):
        corrections.add(("all",), row["month"], row["n"])
        corrections.add(("kind", row["kind"]), row["month"], row["n"])
        corrections.add(("state", row["state"]), row["month"], row["n"])
    inquiries = _Grid(months)
    for row in _monthly(
        Inquiry.objects.filter(received_at__gte=start, received_at__lt=end),
        "received_at",
        answered=Count("id", filter=Q(answered_at__isnull=False)),
    ):
        inquiries.add(("all",), row["month"], row["n"])
        inquiries.add(("answered",), row["month"], row["answered"])

    received = [
        Row(code="disclosure", label="開示請求", counts=disclosures.get(("all",))),
        Row(code="provision_status", label="提供状況の開示請求", counts=statuses.get(("all",))),
        Row(code="correction", label="訂正等の申出", counts=corrections.get(("all",))),
        Row(code="inquiry", label="問合せ", counts=inquiries.get(("all",))),
    ]

    def rows(grid: _Grid, kind: str, label: str, group: str, prefix: str, choices) -> list[Row]:
        return [
            Row(code=f"{kind}.{value}", label=label, detail=f"{prefix}: {text}", counts=grid.get((group, value)))
            for value, text in choices
        ]

    breakdown = [
        *rows(disclosures, "disclosure", "開示請求", "state", "状態", DisclosureState.choices),
        *rows(disclosures, "disclosure", "開示請求", "decision", "決定", Decision.choices),
        Row(
            code="provision_status.issued",
            label="提供状況の開示請求",
            detail="交付済み",
            counts=statuses.get(("issued",)),
        ),
        *rows(corrections, "correction", "訂正等の申出", "kind", "種類", CorrectionKind.choices),
        *rows(corrections, "correction", "訂正等の申出", "state", "状態", CorrectionState.choices),
        Row(code="inquiry.answered", label="問合せ", detail="回答済み", counts=inquiries.get(("answered",))),
    ]
    tables = [
        Table(
            key="disclosures_received",
            title="受付件数（開示請求・提供状況の開示・訂正等の申出・問合せ）",
            file="",
            label_header="種類",
            code_header="区分コード",
            months=months,
            rows=received,
        ),
        Table(
            key="disclosures_breakdown",
            title="内訳（現在の状態・決定・種類。受付月ごと）",
            file="",
            label_header="種類",
            code_header="区分コード",
            detail_header="内訳",
            months=months,
            rows=breakdown,
        ),
    ]
    tables[0].chart = build_chart(tables[0])
    return tables


_SECTION_BUILDERS = {"updates": update_tables, "provisions": provision_tables, "disclosures": disclosure_tables}


def collect(request: StatisticsRequest) -> Statistics:
    """The tables of the chosen sections (a read; :func:`statistics_produce` logs it)."""
    sections = [
        Section(key=key, title=SECTIONS[key], tables=_SECTION_BUILDERS[key](request.period)) for key in request.sections
    ]
    return Statistics(request=request, produced_at=timezone.now(), sections=sections)


# --- Producing and exporting (logged) -----------------------------------------------------------


def statistics_produce(*, operator, request: StatisticsRequest) -> Statistics:
    """The statistics for the page; the work is recorded with its purpose."""
    ensure_permitted(operator, "statistics.produce")
    statistics = collect(request)
    access_log.log_event(action="statistics.produce", detail=request.describe())
    return statistics


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    # A spreadsheet would run a cell that starts like a formula (CSV injection).
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def statistics_csv(statistics: Statistics) -> str:
    """One CSV for the sections of ``statistics``: every table, one header, UTF-8 with a BOM."""
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel reads UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["集計表", "ファイル", "分類", "コード", "名称", "内訳", *statistics.month_labels, "合計"])
    for section in statistics.sections:
        for table in section.tables:
            for row in table.rows:
                writer.writerow(
                    [
                        table.title,
                        table.file_label,
                        table.label_header,
                        _cell(row.code),
                        _cell(row.label),
                        _cell(row.detail),
                        *row.counts,
                        row.total,
                    ]
                )
            heading = [table.title, table.file_label, table.label_header]
            writer.writerow([*heading, "", "合計", "", *table.month_totals, table.total])
    return out.getvalue()


def statistics_export(*, operator, request: StatisticsRequest, section: str) -> tuple[str, str]:
    """(filename, CSV text) for one section; the export is recorded with its purpose."""
    ensure_permitted(operator, "statistics.produce")
    if section not in SECTIONS:
        raise InvalidInput("出力する集計を選んでください。", code="E_STATS_SECTION", field="section")
    one = StatisticsRequest(period=request.period, sections=(section,), purpose=request.purpose)
    text = statistics_csv(collect(one))
    access_log.log_event(action="statistics.export", detail=one.describe())
    period = request.period
    return f"jukinet-statistics-{section}-{period.first:%Y%m}-{period.last:%Y%m}.csv", text
