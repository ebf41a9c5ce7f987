"""Reads of the disclosure desk: the 突合 (matching a request to a record), the requests, and the
provision records a resident may see (docs/disclosure.md).

:func:`record_match` is shared with the correction desk (disclosure/services_corrections.py):
it finds the record a request is about and compares it item by item with what the requester
wrote. Opening a record for the match is a read of personal data, so it is logged like the
search pages do (jukinet/record_access.py): the search as ``record.search``, each record shown
to the desk as ``record.view``, with the purpose as the duty and the request number in the
detail — never a name, a birth date or an address.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from audit import access_log
from disclosure.models import (
    Decision,
    DisclosureRequest,
    DisclosureState,
    MatchResult,
    ProvisionStatusRequest,
)
from jukinet.four_info import address_prefix, build_conditions
from jukinet.kana import seion_key
from jukinet.purposes import Purpose
from jukinet.record_files import RecordFile, record_file
from jukinet.wareki import to_wareki
from provision.models import Duty, Outcome, ProvisionRecord

__all__ = [
    "MAX_CANDIDATES",
    "Candidate",
    "ItemComparison",
    "MatchOutcome",
    "MatchStatus",
    "disclosure_get",
    "disclosure_list",
    "disclosure_may_print_record",
    "disclosures_open",
    "duties_by_code",
    "provision_records_for",
    "provision_status_get",
    "provision_status_list",
    "provision_statuses_open",
    "record_by_code",
    "record_match",
]

# More candidates than this is not a match the desk can make; the page asks for the 住民票コード.
MAX_CANDIDATES = 20

SEX_LABELS = {"1": "男", "2": "女"}


class MatchStatus:
    MATCHED = "matched"  # one record, every item the same
    DIFFERS = "differs"  # one record, some items differ
    SEVERAL = "several"  # more than one candidate: the desk picks one
    NOT_FOUND = "not_found"

    LABELS = {
        MATCHED: "一致（記載のすべての項目が記録と一致しました）",
        DIFFERS: "一部不一致（記録は見つかりましたが、異なる項目があります）",
        SEVERAL: "候補が複数あります（請求者の本人確認書類と照らして選んでください）",
        NOT_FOUND: "該当なし（請求書の記載に該当する記録が見つかりません）",
    }


@dataclass(frozen=True)
class ItemComparison:
    key: str  # juminhyo_code / name / name_kana / birth_date / sex / address
    label: str
    requested: str  # as the requester wrote it ("" = not written)
    recorded: str  # as the record holds it
    same: bool


@dataclass(frozen=True)
class Candidate:
    pk: int
    juminhyo_code: str
    removed: bool  # 消除者 (still disclosable while retained)
    comparisons: tuple[ItemComparison, ...]

    @property
    def matches(self) -> bool:
        return all(item.same for item in self.comparisons)

    @property
    def differing(self) -> tuple[str, ...]:
        """Labels of the items that differ (for the page and the log; never values)."""
        return tuple(item.label for item in self.comparisons if not item.same)


@dataclass(frozen=True)
class MatchOutcome:
    status: str  # a MatchStatus value
    file: str
    candidates: tuple[Candidate, ...]
    search_id: str
    truncated: bool = False  # more than MAX_CANDIDATES matched the search

    @property
    def label(self) -> str:
        return MatchStatus.LABELS[self.status]

    @property
    def candidate(self) -> Candidate | None:
        """The one record found (matched or differing), else None."""
        return self.candidates[0] if len(self.candidates) == 1 else None

    def find(self, juminhyo_code: str) -> Candidate | None:
        return next((c for c in self.candidates if c.juminhyo_code == juminhyo_code), None)


# --- The 突合 -----------------------------------------------------------------------------------

_ITEM_LABELS = {
    "juminhyo_code": "住民票コード",
    "name": "氏名",
    "name_kana": "ふりがな",
    "birth_date": "生年月日",
    "sex": "性別",
    "address": "住所",
}


_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
# A number in kanji right before 丁目・番地・番・号 (「一丁目」「十五番地」), as the files store it.
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番地|番|号)")
# Between two numbers, each way of writing the separator: 「1丁目1番1号」 = 「1-1-1」 = 「1の1の1」.
_SEPARATOR = re.compile(r"(?<=[0-9])(?:丁目|番地の?|番の?|号|の|[-‐‑–—―ー−－])(?=[0-9])")
_TRAILING = re.compile(r"(?<=[0-9])(?:番地|番|号)$")


def _kanji_number(text: str) -> str:
    total, digits = 0, 0
    for ch in text:
        if ch in _KANJI_DIGITS:
            digits = digits * 10 + _KANJI_DIGITS[ch]
        else:
            total += (digits or 1) * _KANJI_UNITS[ch]
            digits = 0
    return str(total + digits)


def _address_key(text: str, prefecture: str) -> str:
    """The address as compared: the search's width normalisation (four_info.address_prefix, with
    the prefecture added for honnin), kanji numbers of 丁目・番地・番・号 as digits, and the block
    numbers' separators aligned, so 「元町1-1-1」 and 「元町一丁目１番１号」 compare equal. Both
    values stay on the desk's screen as written: this only decides 一致 / 不一致."""
    key = unicodedata.normalize("NFKC", address_prefix(text or "", prefecture=prefecture))
    key = _KANJI_NUMBER.sub(lambda m: _kanji_number(m.group()), key)
    return _TRAILING.sub("", _SEPARATOR.sub("-", key))


def _name_key(text: str) -> str:
    # The file's 清音化 key (width, spaces, 濁点 and 長音 aligned): 「さとう たろう」 = 「サトウ　タロウ」,
    # 「佐藤 太郎」 = 「佐藤　太郎」. A different character (高 / 髙) stays a difference for the desk.
    return seion_key(text or "")


def _compare(
    row,
    rf: RecordFile,
    *,
    name_kana: str,
    name: str,
    birth_date: dt.date,
    sex: str,
    address: str,
    juminhyo_code: str,
) -> tuple[ItemComparison, ...]:
    items = []
    if juminhyo_code:
        recorded = row.juminhyo_code
        if getattr(row, "former_juminhyo_code", ""):
            recorded += f"（旧 {row.former_juminhyo_code}）"
        items.append(
            ItemComparison(
                "juminhyo_code",
                _ITEM_LABELS["juminhyo_code"],
                juminhyo_code,
                recorded,
                row.juminhyo_code == juminhyo_code,
            )
        )
    items += [
        ItemComparison("name", _ITEM_LABELS["name"], name, row.name, _name_key(name) == _name_key(row.name)),
        ItemComparison(
            "name_kana",
            _ITEM_LABELS["name_kana"],
            name_kana,
            row.name_kana,
            _name_key(name_kana) == _name_key(row.name_kana),
        ),
        ItemComparison(
            "birth_date",
            _ITEM_LABELS["birth_date"],
            to_wareki(birth_date),
            to_wareki(row.birth_date),
            birth_date == row.birth_date,
        ),
        ItemComparison("sex", _ITEM_LABELS["sex"], SEX_LABELS.get(sex, sex), row.get_sex_display(), sex == row.sex),
        ItemComparison(
            "address",
            _ITEM_LABELS["address"],
            address,
            row.address,
            _address_key(address, rf.address_prefecture) == _address_key(row.address, rf.address_prefecture),
        ),
    ]
    return tuple(items)


def _by_code(rf: RecordFile, code: str) -> list:
    row = rf.model.objects.filter(juminhyo_code=code).first()
    if row is None:
        # A 住民票コードの変更: the request may carry the code the resident had before.
        row = rf.model.objects.filter(former_juminhyo_code=code).first()
    return [row] if row is not None else []


def _by_four_info(rf: RecordFile, *, name_kana: str, name: str, birth_date: dt.date, sex: str) -> tuple[list, int]:
    """Candidates by the stable items: kana + birth date + sex, and kanji name + birth date.

    Not the address (a requester often writes the new one before the notice arrives) and not
    the kanji alone (髙 / 高). 消除者 are included: their record is retained and disclosable.
    """
    searches = []
    if len(seion_key(name_kana)) >= 2:
        searches.append(
            build_conditions(
                name_kana=name_kana,
                include_former=rf.has_former_name,
                birth_date=birth_date.isoformat(),
                sex=sex,
                include_removed=True,
                prefecture=rf.address_prefecture,
            )
        )
    if name.strip():
        searches.append(
            build_conditions(
                name=name, birth_date=birth_date.isoformat(), include_removed=True, prefecture=rf.address_prefecture
            )
        )
    found: dict[int, object] = {}
    for conditions in searches:
        for row in rf.search(conditions)[: MAX_CANDIDATES + 1]:
            found.setdefault(row.pk, row)
    rows = sorted(found.values(), key=lambda r: (r.name_kana, r.birth_date, r.juminhyo_code))
    return rows, len(rows)


def record_match(
    file: str,
    *,
    name_kana: str,
    name: str,
    birth_date: dt.date,
    sex: str,
    address: str,
    juminhyo_code: str = "",
    purpose: str = Purpose.DISCLOSURE,
    reference: str = "",
    log: bool = True,
) -> MatchOutcome:
    """Find the record a request is about and compare it item by item (突合).

    By the 住民票コード when the request carries one (also an earlier code of the same person),
    else — or when no record has that code — by the 4情報 through the file's own search
    (jukinet.four_info). Names and kana are compared by the 清音化 key, the address with the
    width normalisation of the search, the birth date and sex exactly.

    → ``matched`` (one record, all the same) / ``differs`` (one record, some items differ: the
    desk decides, with a reason) / ``several`` (the desk picks one; when exactly one candidate
    agrees in every item it is ``matched`` with that one) / ``not_found``.

    The caller has checked the operator's permission and file duty (``disclosure.services.
    ensure_desk``). ``purpose`` (jukinet.purposes) is the duty of the log entries and
    ``reference`` (the request number) goes into their detail. ``log=False`` is for a caller
    that re-checks a match already shown and logs its own entry for the record it settles on.
    Raises InvalidInput for input the search refuses (the desk forms check the same rules before).
    """
    rf = record_file(file)
    search_id = uuid.uuid4().hex[:16]
    written = {
        "name_kana": name_kana,
        "name": name,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
        "juminhyo_code": juminhyo_code,
    }
    rows = _by_code(rf, juminhyo_code) if juminhyo_code else []
    how = "住民票コード"
    truncated = False
    if not rows:
        rows, total = _by_four_info(rf, name_kana=name_kana, name=name, birth_date=birth_date, sex=sex)
        how = "4情報" + ("（住民票コードに該当なし）" if juminhyo_code else "")
        truncated = total > MAX_CANDIDATES
        rows = rows[:MAX_CANDIDATES]
        if log:
            access_log.log_event(
                action="record.search",
                target_file=rf.key,
                duty=purpose,
                detail=(
                    f"検索ID {search_id}; 突合 かな氏名・漢字氏名・生年月日・性別; 件数 {total}"
                    + (f"; 受付番号 {reference}" if reference else "")
                ),
            )
    candidates = tuple(
        Candidate(row.pk, row.juminhyo_code, rf.is_removed(row), _compare(row, rf, **written)) for row in rows
    )
    if not candidates:
        status = MatchStatus.NOT_FOUND
    elif len(candidates) == 1:
        status = MatchStatus.MATCHED if candidates[0].matches else MatchStatus.DIFFERS
    else:
        exact = [c for c in candidates if c.matches]
        if len(exact) == 1:
            # The others were only rows of the search: they are not shown, so not logged as viewed.
            candidates, status = (exact[0],), MatchStatus.MATCHED
        else:
            status = MatchStatus.SEVERAL
    for candidate in candidates if log else ():
        # Each record put on the desk's screen is a read of its own, as on the record page.
        access_log.log_event(
            action="record.view",
            target_file=rf.key,
            target_code=candidate.juminhyo_code,
            duty=purpose,
            detail=(
                f"突合（{how}）; 検索ID {search_id}; "
                + (f"不一致 {'・'.join(candidate.differing)}" if candidate.differing else "全項目一致")
                + (f"; 受付番号 {reference}" if reference else "")
            ),
        )
    return MatchOutcome(status=status, file=rf.key, candidates=candidates, search_id=search_id, truncated=truncated)


def record_by_code(file: str, juminhyo_code: str):
    """The current row of the record a request was matched to (None once erased)."""
    if not juminhyo_code:
        return None
    return record_file(file).model.objects.filter(juminhyo_code=juminhyo_code).first()


# --- Requests -----------------------------------------------------------------------------------

CLOSED_STATES = (DisclosureState.ISSUED, DisclosureState.WITHDRAWN)


def disclosure_get(*, pk: int) -> DisclosureRequest | None:
    return DisclosureRequest.objects.filter(pk=pk).first()


def disclosure_list(
    *,
    state: str = "",
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
    file: str = "",
    open_only: bool = False,
) -> QuerySet[DisclosureRequest]:
    rows = DisclosureRequest.objects.all()
    if state:
        rows = rows.filter(state=state)
    if open_only:
        rows = rows.exclude(state__in=CLOSED_STATES)
    if received_from:
        rows = rows.filter(received_on__gte=received_from)
    if received_to:
        rows = rows.filter(received_on__lte=received_to)
    if file:
        rows = rows.filter(file=file)
    return rows.order_by("-received_on", "-id")


def disclosures_open(*, today: dt.date | None = None) -> tuple[list[DisclosureRequest], list[DisclosureRequest]]:
    """(received today, every open request) for the desk's home."""
    today = today or timezone.localdate()
    todays = list(DisclosureRequest.objects.filter(received_on=today).order_by("-id")[:100])
    still_open = list(disclosure_list(open_only=True).order_by("received_on", "id")[:100])
    return todays, still_open


def provision_status_get(*, pk: int) -> ProvisionStatusRequest | None:
    return ProvisionStatusRequest.objects.filter(pk=pk).first()


def provision_status_list(
    *,
    state: str = "",
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
    file: str = "",
    open_only: bool = False,
) -> QuerySet[ProvisionStatusRequest]:
    rows = ProvisionStatusRequest.objects.all()
    if state == "received":
        rows = rows.filter(match_result="")
    elif state == "matched":
        rows = rows.exclude(match_result="").exclude(match_result=MatchResult.NOT_FOUND).filter(issued_at__isnull=True)
    elif state == "not_found":
        rows = rows.filter(match_result=MatchResult.NOT_FOUND)
    elif state == "issued":
        rows = rows.filter(issued_at__isnull=False)
    if open_only:
        rows = rows.filter(issued_at__isnull=True).exclude(match_result=MatchResult.NOT_FOUND)
    if received_from:
        rows = rows.filter(received_on__gte=received_from)
    if received_to:
        rows = rows.filter(received_on__lte=received_to)
    if file:
        rows = rows.filter(file=file)
    return rows.order_by("-received_on", "-id")


def provision_statuses_open() -> list[ProvisionStatusRequest]:
    return list(provision_status_list(open_only=True).order_by("received_on", "id")[:100])


def disclosure_may_print_record(request: DisclosureRequest) -> bool:
    """The disclosed information (with the 個人番号 for honnin) only for a matched, disclosed request."""
    return (
        request.decision == Decision.DISCLOSE
        and request.match_result in (MatchResult.MATCHED, MatchResult.MISMATCH_ACCEPTED)
        and bool(request.matched_code)
        and request.state in (DisclosureState.DECIDED, DisclosureState.ISSUED)
    )


# --- Provision records (提供状況の開示) ---------------------------------------------------------


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def provision_records_for(
    *, juminhyo_code: str, file: str, period_from: dt.date, period_to: dt.date
) -> list[ProvisionRecord]:
    """The provisions and transfers of one resident's record from one file within the period
    (Japan dates, both ends included), oldest first. Only what was given: refusals, failures and
    "not found" answers handed over nothing about the resident."""
    return list(
        ProvisionRecord.objects.filter(
            target_codes__contains=[juminhyo_code],  # the GIN index provision_rec_targets
            file=file,
            outcome=Outcome.PROVIDED,
            occurred_at__gte=_local_midnight(period_from),
            occurred_at__lt=_local_midnight(period_to + dt.timedelta(days=1)),
        ).order_by("occurred_at", "id")
    )


def duties_by_code(codes: Iterable[str]) -> dict[str, Duty]:
    return {duty.code: duty for duty in Duty.objects.filter(code__in=set(codes))}
