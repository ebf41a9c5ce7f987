"""Log review (ログの点検) for 監査担当: six reports over the access log, and marking a finding reviewed.

Each report is one selector that groups ``AccessLogEntry`` rows in the database (restricted by
``occurred_at`` first, then GROUP BY), so a period of millions of entries comes back as a few
hundred groups at most. A finding has a stable ``finding_key`` (the report name, then who or
what, then the day), so a mark made today still applies when the same finding shows up in
another period. Rules, thresholds and the sets of actions are here and in docs/log-review.md.

Reports show codes (login ids, client ids, 住民票コード, actions): never a name or a 個人番号,
like the log viewer they link to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jpholiday
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, Max, Min, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    ExtractMinute,
    NullIf,
    TruncDate,
    TruncDay,
)
from django.urls import reverse
from django.utils import timezone

from audit import access_log
from audit.models import AccessLogEntry, Operator, ReviewMark
from audit.permissions import permitted
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from jukinet.log_redaction import redact

# --- What counts as what (one place; docs/log-review.md lists the same sets) ----------------

# A look-up of personal data by an operator: searching, opening, printing, revealing the
# 個人番号, asking the national server, matching or showing a resident at the disclosure desk.
LOOKUP_ACTIONS = (
    "record.search",
    "record.view",
    "record.print",
    "my_number.reveal",
    "national.query",
    "disclosure.match",
    "disclosure.view",
    "disclosure.print",
    "provision_status.match",
    "provision_status.view",
    "correction.view",
    "correction.print",
    "inquiry.view",
)
# Business actions that follow a record view: the view was used for something.
FOLLOW_UP_ACTIONS = ("record.print", "my_number.reveal", "national.query", "national.query.result")
FOLLOW_UP_PREFIXES = ("disclosure.", "correction.", "inquiry.", "provision_status.", "provision.")
# Failed sign-ins and unlocks (the refused report leaves these to the failed-login report).
FAILED_LOGIN_ACTIONS = ("login.failed", "login.otp_failed", "login.locked_out", "screen.unlock_failed")
LOCKOUT_ACTION = "login.locked_out"

PERIOD_DEFAULT_DAYS = 7
PERIOD_MAX_DAYS = 31
VOLUME_BASELINE_WORKING_DAYS = 30
VOLUME_FACTOR = 3  # more than 3× the usual daily count …
VOLUME_MIN_EXCESS = 50  # … and at least 50 more than it
MANY_OPERATORS_MIN = 3
FAILED_LOGINS_MIN = 3
MAX_FINDINGS = 1000  # a report shows at most this many findings (newest first) and says so
NOTE_MAX = 500

_CODE = re.compile(r"^[A-Za-z0-9._:@-]{1,40}$")  # what the log viewer's filter accepts
_JUMINHYO_CODE = r"^[0-9]{11}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_PART = r"(?:[A-Za-z0-9._:@-]{1,40}|~[0-9a-f]{16}|-)"


class ReviewPeriodInvalid(InvalidInput):
    code = "E_REVIEW_PERIOD"
    message = "期間の指定に誤りがあります。"


class ReviewAlreadyMarked(Conflict):
    code = "E_REVIEW_MARKED"
    message = "この指摘は既に確認済みです。"


# --- Period and calendar -------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: dt.date  # first day, inclusive
    until: dt.date  # last day, inclusive

    @property
    def start(self) -> dt.datetime:
        return _day_start(self.since)

    @property
    def end(self) -> dt.datetime:
        return _day_start(self.until + dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        return [self.since + dt.timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    def describe(self) -> str:
        return f"{self.since:%Y-%m-%d}〜{self.until:%Y-%m-%d}"

    def as_query(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def review_period(
    since: dt.date | None = None, until: dt.date | None = None, *, today: dt.date | None = None
) -> Period:
    """The period of a report: by default the last 7 days up to today; at most 31 days."""
    today = today or timezone.localdate()
    if until is None:
        until = min(today, since + dt.timedelta(days=PERIOD_DEFAULT_DAYS - 1)) if since else today
    if since is None:
        since = until - dt.timedelta(days=PERIOD_DEFAULT_DAYS - 1)
    for name, day in (("since", since), ("until", until)):
        if not 2000 <= day.year <= 2099:
            raise ReviewPeriodInvalid("日付は2000年から2099年の範囲で入力してください。", field=name)
    if since > until:
        raise ReviewPeriodInvalid("終了日は開始日以降にしてください。", field="until")
    if (until - since).days + 1 > PERIOD_MAX_DAYS:
        raise ReviewPeriodInvalid(f"期間は{PERIOD_MAX_DAYS}日以内で指定してください。", field="until")
    return Period(since, until)


def _working_hours() -> tuple[int, int]:
    """WORKING_HOURS_START/END ("08:30", "18:15") as minutes after midnight."""

    def minutes(text: str, name: str) -> int:
        match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text.strip())
        if not match:
            raise ValueError(f"{name} must be HH:MM, not {text!r}")
        return int(match[1]) * 60 + int(match[2])

    return minutes(settings.WORKING_HOURS_START, "WORKING_HOURS_START"), minutes(
        settings.WORKING_HOURS_END, "WORKING_HOURS_END"
    )


def closed_day_name(day: dt.date) -> str:
    """Why ``day`` is not a working day ("" when it is): weekend, public holiday, year-end.

    The prefecture's offices also close 12/29–1/3 (年末年始, the prefectural 休日条例).
    """
    holiday = jpholiday.is_holiday_name(day)
    if holiday:
        return holiday
    if (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3):
        return "年末年始"
    if day.weekday() >= 5:
        return "土曜日" if day.weekday() == 5 else "日曜日"
    return ""


def is_working_day(day: dt.date) -> bool:
    return not closed_day_name(day)


def _working_days_before(day: dt.date, count: int) -> list[dt.date]:
    """The ``count`` working days before ``day`` (not including it), oldest first."""
    found: list[dt.date] = []
    cursor = day
    while len(found) < count:
        cursor -= dt.timedelta(days=1)
        if is_working_day(cursor):
            found.append(cursor)
    return found[::-1]


# --- Findings ------------------------------------------------------------------------------


@dataclass
class Finding:
    key: str
    day: dt.date | None
    subject: str  # who or what: an operator, a client, a login id, a 住民票コード
    count: int
    summary: str  # Japanese, one sentence
    facts: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, log viewer URL)
    mark: ReviewMark | None = None


@dataclass
class ReportResult:
    report: Report
    period: Period
    findings: list[Finding]
    truncated: bool = False

    @property
    def unreviewed(self) -> list[Finding]:
        return [f for f in self.findings if f.mark is None]


@dataclass(frozen=True)
class Report:
    name: str
    label: str
    description: str
    key_pattern: re.Pattern
    select: Callable[[Period], tuple[list[Finding], bool]]


def _part(value: str) -> str:
    """One part of a finding key: a code as it is, anything else (a hostile attempted login id)
    as a short hash, so that ``|`` and odd characters never reach a key."""
    if not value:
        return "-"
    if _CODE.fullmatch(value):
        return value
    return "~" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]


def _shown(value: str) -> str:
    return value or "（なし）"


def _log_link(*, day: dt.date | None = None, period: Period | None = None, **params: str) -> str:
    query = {}
    for name in ("actor", "action", "target", "outcome"):
        value = params.get(name, "")
        if value and (name in ("action", "outcome") or _CODE.fullmatch(value)):
            query[name] = value
    if day is not None:
        query["since"] = query["until"] = day.isoformat()
    elif period is not None:
        query.update(period.as_query())
    return f"{reverse('audit_log')}?{urlencode(query)}"


def _in_period(period: Period) -> QuerySet[AccessLogEntry]:
    # The occurred_at index narrows first; every report then groups what is left.
    return AccessLogEntry.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)


def _lookups(entries: QuerySet[AccessLogEntry]) -> QuerySet[AccessLogEntry]:
    return entries.filter(actor_kind="operator", outcome=AccessLogEntry.Outcome.OK, action__in=LOOKUP_ACTIONS)


def _local_day():
    return TruncDate("occurred_at", tzinfo=timezone.get_current_timezone())


def _limited(rows: Iterable) -> tuple[list, bool]:
    rows = list(rows[: MAX_FINDINGS + 1])
    return rows[:MAX_FINDINGS], len(rows) > MAX_FINDINGS


# --- 1. after_hours ------------------------------------------------------------------------


def _closed_days(period: Period) -> list[dt.date]:
    return [day for day in period.days if not is_working_day(day)]


def after_hours(period: Period) -> tuple[list[Finding], bool]:
    """Look-ups outside working hours or on a closed day, by operator and day."""
    tz = timezone.get_current_timezone()
    start, end = _working_hours()
    outside = Q(minute_of_day__lt=start) | Q(minute_of_day__gte=end) | Q(day__in=_closed_days(period))
    rows = (
        _lookups(_in_period(period))
        .annotate(
            day=_local_day(),
            minute_of_day=ExtractHour("occurred_at", tzinfo=tz) * 60 + ExtractMinute("occurred_at", tzinfo=tz),
        )
        .filter(outside)
        .values("actor", "day")
        .annotate(
            n=Count("id"),
            targets=Count("target_code", distinct=True, filter=~Q(target_code="")),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
        .order_by("-day", "actor")
    )
    rows, truncated = _limited(rows)
    findings = []
    for row in rows:
        day, actor = row["day"], row["actor"]
        why = closed_day_name(day) or "勤務時間外"
        first, last = timezone.localtime(row["first"]), timezone.localtime(row["last"])
        findings.append(
            Finding(
                key=f"after_hours|{_part(actor)}|{day.isoformat()}",
                day=day,
                subject=_shown(actor),
                count=row["n"],
                summary=f"{_shown(actor)} が {day:%Y-%m-%d}（{why}）に個人情報を{row['n']}件照会しました。",
                facts=[f"対象 {row['targets']}人", f"{first:%H:%M}〜{last:%H:%M}"],
                links=[("この日の操作記録", _log_link(actor=actor, day=day))],
            )
        )
    return findings, truncated


# --- 2. volume -----------------------------------------------------------------------------


def volume(period: Period) -> tuple[list[Finding], bool]:
    """An operator's daily look-ups far above their own usual (see docs/log-review.md)."""
    working = _working_days_before(period.since, VOLUME_BASELINE_WORKING_DAYS)
    window = Period(working[0], period.until)
    rows = (
        _lookups(_in_period(window))
        .annotate(day=_local_day())
        .values("actor", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    daily: dict[str, dict[dt.date, int]] = defaultdict(dict)
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for row in rows:  # one row per operator and day: a few thousand at most
        daily[row["actor"]][row["day"]] = row["n"]
        by_day[row["day"]].append(row["n"])

    # The 30 working days before each day of the period, computed once.
    working_all = working + [d for d in period.days if is_working_day(d)]
    findings = []
    for day in reversed(period.days):
        earlier = [d for d in working_all if d < day][-VOLUME_BASELINE_WORKING_DAYS:]
        everyone = [n for d in earlier for n in by_day.get(d, [])]
        for actor in sorted(daily):
            count = daily[actor].get(day)
            if not count:
                continue
            own = [daily[actor][d] for d in earlier if d in daily[actor]]
            if own:
                usual, basis = statistics.median(own), f"本人の過去{len(own)}勤務日の中央値"
            elif everyone:
                usual, basis = statistics.median(everyone), "本人の実績がないため全操作者の中央値"
            else:
                usual, basis = 0, "比較できる実績なし"
            if count > VOLUME_FACTOR * usual and count >= usual + VOLUME_MIN_EXCESS:
                findings.append(
                    Finding(
                        key=f"volume|{_part(actor)}|{day.isoformat()}",
                        day=day,
                        subject=_shown(actor),
                        count=count,
                        summary=(
                            f"{_shown(actor)} が {day:%Y-%m-%d} に個人情報を{count}件照会しました（通常 {usual:g}件）。"
                        ),
                        facts=[basis, f"通常の{count / usual:.1f}倍" if usual else "通常 0件"],
                        links=[("この日の操作記録", _log_link(actor=actor, day=day))],
                    )
                )
    return findings[:MAX_FINDINGS], len(findings) > MAX_FINDINGS


# --- 3. many_operators ---------------------------------------------------------------------


def many_operators(period: Period) -> tuple[list[Finding], bool]:
    """The same person (住民票コード) looked up by several distinct operators in the period.

    The key holds the set of operators (as a hash): marked once, the finding stays reviewed
    while the same operators look the person up; a new operator makes a new finding.
    """
    rows = (
        _lookups(_in_period(period))
        .filter(target_code__regex=_JUMINHYO_CODE)
        .values("target_code")
        .annotate(
            operators=Count("actor", distinct=True),
            n=Count("id"),
            actors=ArrayAgg("actor", distinct=True, order_by="actor"),
            last=Max("occurred_at"),
        )
        .filter(operators__gte=MANY_OPERATORS_MIN)
        .order_by("-operators", "-n", "target_code")
    )
    rows, truncated = _limited(rows)
    findings = []
    for row in rows:
        code, actors = row["target_code"], row["actors"]
        digest = hashlib.sha256(",".join(actors).encode()).hexdigest()[:12]
        findings.append(
            Finding(
                key=f"many_operators|{code}|{digest}",
                day=timezone.localdate(row["last"]),
                subject=code,
                count=row["operators"],
                summary=f"住民票コード {code} を{row['operators']}人の操作者が計{row['n']}件照会しました。",
                facts=["操作者 " + "・".join(actors[:20]) + ("ほか" if len(actors) > 20 else "")],
                links=[("この人の操作記録", _log_link(target=code, period=period))],
            )
        )
    return findings, truncated


# --- 4. no_follow_up -----------------------------------------------------------------------


def _follow_up_q() -> Q:
    q = Q(action__in=FOLLOW_UP_ACTIONS)
    for prefix in FOLLOW_UP_PREFIXES:
        q |= Q(action__startswith=prefix)
    return q


def no_follow_up(period: Period) -> tuple[list[Finding], bool]:
    """Record views with no later business action on the same person by the same operator
    within the same day. Today is left out: its views may still be followed up."""
    end = min(period.end, _day_start(timezone.localdate()))
    tz = timezone.get_current_timezone()
    followed = (
        AccessLogEntry.objects.filter(
            actor=OuterRef("actor"),
            target_code=OuterRef("target_code"),
            occurred_at__gt=OuterRef("occurred_at"),
            occurred_at__lt=OuterRef("next_day"),
        )
        .filter(_follow_up_q())
        .exclude(outcome=AccessLogEntry.Outcome.REFUSED)
    )
    rows = (
        AccessLogEntry.objects.filter(occurred_at__gte=period.start, occurred_at__lt=end)
        .filter(actor_kind="operator", action="record.view", outcome=AccessLogEntry.Outcome.OK)
        .exclude(target_code="")
        .annotate(day=_local_day(), next_day=TruncDay("occurred_at", tzinfo=tz) + dt.timedelta(days=1))
        .annotate(followed=Exists(followed))
        .values("actor", "day")
        .annotate(
            views=Count("id"),
            lonely=Count("id", filter=Q(followed=False)),
            targets=Count("target_code", distinct=True, filter=Q(followed=False)),
        )
        .filter(lonely__gt=0)
        .order_by("-day", "-lonely", "actor")
    )
    rows, truncated = _limited(rows)
    findings = []
    for row in rows:
        day, actor = row["day"], row["actor"]
        findings.append(
            Finding(
                key=f"no_follow_up|{_part(actor)}|{day.isoformat()}",
                day=day,
                subject=_shown(actor),
                count=row["lonely"],
                summary=(
                    f"{_shown(actor)} が {day:%Y-%m-%d} に開いた記録{row['views']}件のうち"
                    f"{row['lonely']}件は、その日のうちに業務の操作がありません。"
                ),
                facts=[f"対象 {row['targets']}人"],
                links=[("この日の閲覧記録", _log_link(actor=actor, action="record.view", day=day))],
            )
        )
    return findings, truncated


# --- 5. failed_logins ----------------------------------------------------------------------


def failed_logins(period: Period) -> tuple[list[Finding], bool]:
    """Failed logins, OTP failures, lock-outs and failed unlocks by login id and day; a group
    is a finding at 3 failures or at any lock-out."""
    login = Coalesce(NullIf("target_code", Value("")), NullIf("actor", Value("")), Value(""))
    rows = (
        _in_period(period)
        .filter(action__in=FAILED_LOGIN_ACTIONS)
        .annotate(day=_local_day(), login=login)
        .values("login", "day")
        .annotate(
            n=Count("id"),
            locked=Count("id", filter=Q(action=LOCKOUT_ACTION)),
            otp=Count("id", filter=Q(action="login.otp_failed")),
            unlock=Count("id", filter=Q(action="screen.unlock_failed")),
            terminals=ArrayAgg("terminal", distinct=True, order_by="terminal", filter=~Q(terminal="")),
            addrs=Count("remote_addr", distinct=True, filter=~Q(remote_addr="")),
        )
        .filter(Q(n__gte=FAILED_LOGINS_MIN) | Q(locked__gt=0))
        .order_by("-day", "-locked", "-n", "login")
    )
    rows, truncated = _limited(rows)
    findings = []
    for row in rows:
        day, login_id = row["day"], row["login"]
        facts = [f"パスワード誤り等 {row['n'] - row['otp'] - row['unlock'] - row['locked']}件"]
        if row["otp"]:
            facts.append(f"確認コード誤り {row['otp']}件")
        if row["unlock"]:
            facts.append(f"画面ロック解除の失敗 {row['unlock']}件")
        if row["locked"]:
            facts.append(f"ロックアウト {row['locked']}件")
        if row["terminals"]:
            facts.append("端末 " + "・".join(row["terminals"][:10]))
        if row["addrs"]:
            facts.append(f"接続元 {row['addrs']}か所")
        links = [("この日の記録（ログインID）", _log_link(target=login_id, day=day))]
        if row["unlock"]:
            links.append(("この日の記録（操作者）", _log_link(actor=login_id, day=day)))
        findings.append(
            Finding(
                key=f"failed_logins|{_part(login_id)}|{day.isoformat()}",
                day=day,
                subject=_shown(login_id[:40]),
                count=row["n"],
                summary=(
                    f"ログインID {_shown(login_id[:40])} で {day:%Y-%m-%d} にログイン等の失敗が{row['n']}件"
                    + ("あり、ロックアウトされました。" if row["locked"] else "ありました。")
                ),
                facts=facts,
                links=links,
            )
        )
    return findings, truncated


# --- 6. refused_provisions -----------------------------------------------------------------


def refused_provisions(period: Period) -> tuple[list[Finding], bool]:
    """Refused requests: provision requests by machine clients first, then every other refused
    action, one finding per client or operator, action and day."""
    rows = (
        _in_period(period)
        .filter(outcome=AccessLogEntry.Outcome.REFUSED)
        .exclude(action__in=FAILED_LOGIN_ACTIONS)
        .annotate(day=_local_day())
        .values("actor_kind", "actor", "action", "day")
        .annotate(
            n=Count("id"),
            duties=ArrayAgg("duty", distinct=True, order_by="duty", filter=~Q(duty="")),
            files=ArrayAgg("target_file", distinct=True, order_by="target_file", filter=~Q(target_file="")),
            clients_first=Min(Case(When(actor_kind="client", then=Value(0)), default=Value(1))),
        )
        .order_by("clients_first", "-day", "-n", "actor", "action")
    )
    rows, truncated = _limited(rows)
    findings = []
    for row in rows:
        day, actor, action, kind = row["day"], row["actor"], row["action"], row["actor_kind"]
        who = {"client": "クライアント", "operator": "操作者"}.get(kind, "未認証の接続")
        facts = [f"主体種別 {kind}"]
        if row["duties"]:
            facts.append("事務 " + "・".join(row["duties"][:10]))
        if row["files"]:
            facts.append("ファイル " + "・".join(row["files"]))
        findings.append(
            Finding(
                key=f"refused_provisions|{_part(kind)}|{_part(actor)}|{_part(action)}|{day.isoformat()}",
                day=day,
                subject=f"{who} {_shown(actor)}",
                count=row["n"],
                summary=f"{who} {_shown(actor)} の {action} が {day:%Y-%m-%d} に{row['n']}件拒否されました。",
                facts=facts,
                links=[("この日の拒否記録", _log_link(actor=actor, action=action, outcome="refused", day=day))],
            )
        )
    return findings, truncated


# --- The reports ---------------------------------------------------------------------------

REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report(
            "after_hours",
            "勤務時間外の照会",
            "勤務時間外（平日の勤務時間の前後）と土日・祝日・年末年始に行われた個人情報の照会を、操作者・日ごとに示します。",
            re.compile(rf"^after_hours\|{_PART}\|{_DAY}$"),
            after_hours,
        ),
        Report(
            "volume",
            "通常より多い照会",
            f"操作者の1日の照会件数が、本人の直近{VOLUME_BASELINE_WORKING_DAYS}勤務日の中央値の"
            f"{VOLUME_FACTOR}倍を超え、かつ{VOLUME_MIN_EXCESS}件以上多い日を示します。",
            re.compile(rf"^volume\|{_PART}\|{_DAY}$"),
            volume,
        ),
        Report(
            "many_operators",
            "多数の操作者が照会した住民",
            f"期間内に{MANY_OPERATORS_MIN}人以上の操作者が照会した住民票コードを示します。",
            re.compile(r"^many_operators\|[0-9]{11}\|[0-9a-f]{12}$"),
            many_operators,
        ),
        Report(
            "no_follow_up",
            "後続の業務がない閲覧",
            "記録を開いたのに、同じ日のうちに同じ操作者が同じ住民について印刷・個人番号表示・照会・"
            "開示等の業務を行っていない閲覧を、操作者・日ごとに示します（当日分は翌日から表示）。",
            re.compile(rf"^no_follow_up\|{_PART}\|{_DAY}$"),
            no_follow_up,
        ),
        Report(
            "failed_logins",
            "ログインの失敗",
            f"ログイン・確認コード・画面ロック解除の失敗が、ログインIDごとに1日{FAILED_LOGINS_MIN}件以上"
            "あった日と、ロックアウトがあった日を示します。",
            re.compile(rf"^failed_logins\|{_PART}\|{_DAY}$"),
            failed_logins,
        ),
        Report(
            "refused_provisions",
            "拒否された提供要求・操作",
            "機械クライアントの提供要求の拒否と、操作者等のその他の拒否を、主体・操作・日ごとに示します。",
            re.compile(rf"^refused_provisions\|{_PART}\|{_PART}\|{_PART}\|{_DAY}$"),
            refused_provisions,
        ),
    )
}


def report_get(name: str) -> Report:
    report = REPORTS.get(name)
    if report is None:
        raise NotFound("そのレポートはありません。", code="E_REVIEW_REPORT")
    return report


def _attach_marks(results: list[ReportResult]) -> None:
    """One query for the marks of every finding shown."""
    wanted = [
        Q(report=result.report.name, finding_key__in=[f.key for f in result.findings])
        for result in results
        if result.findings
    ]
    marks = {}
    if wanted:
        condition = wanted[0]
        for q in wanted[1:]:
            condition |= q
        marks = {(m.report, m.finding_key): m for m in ReviewMark.objects.filter(condition)}
    for result in results:
        for finding in result.findings:
            finding.mark = marks.get((result.report.name, finding.key))


def report_findings(name: str, period: Period) -> ReportResult:
    report = report_get(name)
    findings, truncated = report.select(period)
    result = ReportResult(report, period, findings, truncated)
    _attach_marks([result])
    return result


def all_reports(period: Period) -> list[ReportResult]:
    results = []
    for report in REPORTS.values():
        findings, truncated = report.select(period)
        results.append(ReportResult(report, period, findings, truncated))
    _attach_marks(results)
    return results


# --- Marking -------------------------------------------------------------------------------


def review_mark(*, operator: Operator, report: str, finding_key: str, note: str) -> ReviewMark:
    """Mark one finding reviewed, once, with the auditor's note (append-only)."""
    if not permitted(operator, "log_review.mark"):
        access_log.log_refusal(action="log_review.mark", detail=f"権限なし: {report[:32]}")
        raise PermissionRefused()
    spec = report_get(report)
    finding_key = finding_key or ""
    if len(finding_key) > 200 or not spec.key_pattern.fullmatch(finding_key):
        raise InvalidInput("確認する指摘が正しくありません。画面を開き直してください。", code="E_REVIEW_FINDING")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("確認内容を入力してください。", code="E_REVIEW_NOTE_REQUIRED", field="note")
    if len(note) > NOTE_MAX or _CONTROL.search(note):
        raise InvalidInput(
            f"確認内容は{NOTE_MAX}文字以内で、制御文字を含めずに入力してください。", code="E_REVIEW_NOTE", field="note"
        )
    if redact(note) != note:
        raise InvalidInput(
            "確認内容に12桁の番号（個人番号の可能性があります）は書けません。", code="E_REVIEW_NOTE", field="note"
        )
    try:
        with transaction.atomic():
            mark = ReviewMark.objects.create(
                report=spec.name,
                finding_key=finding_key,
                reviewed_by=operator.login_id,
                reviewed_at=timezone.now(),
                note=note,
            )
            access_log.log_event(
                action="log_review.mark", target_code=f"review_mark:{mark.pk}", detail=f"{spec.name} {finding_key}"
            )
    except IntegrityError:
        # Two auditors marking at once: the unique constraint lets one in, the other is told.
        existing = ReviewMark.objects.filter(report=spec.name, finding_key=finding_key).first()
        if existing is None:
            raise ReviewAlreadyMarked() from None
        when = timezone.localtime(existing.reviewed_at)
        raise ReviewAlreadyMarked(
            f"この指摘は既に確認済みです（確認者 {existing.reviewed_by}、{when:%Y-%m-%d %H:%M}）。"
        ) from None
    return mark


def log_view(*, report: str, period: Period, shown: int, unreviewed: int) -> None:
    """Viewing a report (or the index) is itself logged, with its period."""
    access_log.log_event(
        action="log_review.view",
        target_code=report[:40],
        detail=f"レポート {report} 期間 {period.describe()} 指摘 {shown}件 未確認 {unreviewed}件",
    )
