"""Reading personal data at a staff terminal: search, open, reveal the 個人番号, print.

Each function checks the operator's role (audit/permissions.py) and file duty
(``Operator.duties``), does its read, and writes its own access-log entry: the search, each
record opened, each reveal and each print are separate entries with the purpose they serve.
A refusal is logged too (these are reads: no transaction of ours is rolled back under it).

A record is opened only through a link of a search result: the link carries a signed grant
(file, row, purpose, search id, operator; valid for :data:`GRANT_MAX_AGE`), so an opened
record always traces back to the search that listed it, and a URL with another row's number
or from another operator's screen opens nothing.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field

from django.core import signing

from audit import access_log
from audit.models import Operator
from audit.permissions import ensure_permitted
from honnin.selectors import resident_my_number
from jukinet import pdf, printing
from jukinet.errors import InvalidInput, NotFound, PermissionRefused
from jukinet.four_info import MAX_HITS, Conditions
from jukinet.purposes import REFERENCE_MAX_LENGTH, Purpose
from jukinet.record_files import Item, RecordFile, history_items, items_of, record_file
from jukinet.wareki import to_wareki

PAGE_SIZE = 50
GRANT_MAX_AGE = 8 * 60 * 60
REASON_MAX_LENGTH = 200
_GRANT_SALT = "jukinet.record_access.grant"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LIST_FIELDS = ("juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on")


@dataclass(frozen=True)
class Grant:
    file: str
    pk: int
    purpose: str
    search_id: str


@dataclass
class SearchPage:
    search_id: str
    rows: list = field(default_factory=list)  # model rows, each with .grant and .removed
    total: int = 0
    too_many: bool = False
    page: int = 1
    pages: int = 0


@dataclass
class RecordPage:
    file: RecordFile
    row: object
    items: list[Item]
    history: list[list[Item]]
    history_labels: list[str]
    removed: bool
    grant: Grant
    grant_token: str
    has_my_number: bool


# --- Checks shared by every read -----------------------------------------------------------


def _ensure(operator: Operator, action: str, rf: RecordFile, *, target_code: str = "", duty: str = "") -> None:
    try:
        ensure_permitted(operator, action)
        if rf.key not in (operator.duties or []):
            raise PermissionRefused(f"{rf.label}ファイルの担当ではありません。", code="E_FILE_DUTY")
    except PermissionRefused as exc:
        access_log.log_refusal(
            action=action, target_file=rf.key, target_code=target_code, duty=duty, detail=exc.message
        )
        raise


def check_purpose(purpose: str, reference: str) -> tuple[str, str]:
    if purpose not in Purpose.values:
        raise InvalidInput("検索の目的（事務）を選んでください。", code="E_PURPOSE", field="purpose")
    reference = (reference or "").strip()
    if len(reference) > REFERENCE_MAX_LENGTH or _CONTROL.search(reference):
        raise InvalidInput(
            f"受付番号等は{REFERENCE_MAX_LENGTH}文字以内で、制御文字を含めずに入力してください。",
            code="E_REFERENCE",
            field="reference",
        )
    return purpose, reference


def check_reason(reason: str) -> str:
    """The reason for revealing a 個人番号 (prints use jukinet.printing.clean_reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("理由を入力してください。", code="E_REASON_REQUIRED", field="reason")
    if len(reason) > REASON_MAX_LENGTH or _CONTROL.search(reason):
        raise InvalidInput(
            f"理由は{REASON_MAX_LENGTH}文字以内で、制御文字を含めずに入力してください。",
            code="E_REASON",
            field="reason",
        )
    return reason


def grant_token(grant: Grant, operator: Operator) -> str:
    payload = {"f": grant.file, "k": grant.pk, "p": grant.purpose, "s": grant.search_id, "o": operator.pk}
    return signing.dumps(payload, salt=_GRANT_SALT, compress=False)


def grant_read(token: str, *, file: str, pk: int, operator: Operator) -> Grant:
    try:
        data = signing.loads(token or "", salt=_GRANT_SALT, max_age=GRANT_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidInput(
            "検索から時間が経ちました。もう一度検索してから開いてください。", code="E_GRANT_EXPIRED"
        ) from None
    except signing.BadSignature:
        raise InvalidInput("記録は検索結果の一覧から開いてください。", code="E_GRANT_INVALID") from None
    if not isinstance(data, dict) or data.get("f") != file or data.get("k") != pk or data.get("o") != operator.pk:
        raise InvalidInput("記録は検索結果の一覧から開いてください。", code="E_GRANT_INVALID")
    return Grant(file=file, pk=pk, purpose=str(data.get("p", "")), search_id=str(data.get("s", "")))


# --- Search --------------------------------------------------------------------------------


def records_search(
    *, operator: Operator, file: str, conditions: Conditions, purpose: str, reference: str, page: int = 1
) -> SearchPage:
    rf = record_file(file)
    _ensure(operator, "record.search", rf, duty=purpose)
    purpose, reference = check_purpose(purpose, reference)
    matches = rf.search(conditions)
    # Count no further than the cap: a broad search costs no more than a narrow one.
    total = matches.order_by()[: MAX_HITS + 1].count()
    result = SearchPage(search_id=uuid.uuid4().hex[:16], total=total, too_many=total > MAX_HITS)
    if not result.too_many and total:
        result.pages = math.ceil(total / PAGE_SIZE)
        result.page = min(max(page, 1), result.pages)
        start = (result.page - 1) * PAGE_SIZE
        fields = (*LIST_FIELDS, *(("deleted",) if rf.key == "honnin" else ("status",)))
        result.rows = list(matches.only(*fields)[start : start + PAGE_SIZE])
        for row in result.rows:
            row.removed = rf.is_removed(row)
            row.grant = grant_token(Grant(rf.key, row.pk, purpose, result.search_id), operator)
    access_log.log_event(
        action="record.search",
        target_file=rf.key,
        duty=purpose,
        detail=(
            f"検索ID {result.search_id}; 条件 {conditions.describe()}; "
            f"件数 {f'{MAX_HITS}超' if result.too_many else total}; 頁 {result.page}"
            + (f"; 受付番号等 {reference}" if reference else "")
        ),
    )
    return result


# --- One record ----------------------------------------------------------------------------


def _open(operator: Operator, file: str, pk: int, token: str, action: str):
    rf = record_file(file)
    grant = grant_read(token, file=rf.key, pk=pk, operator=operator)
    _ensure(operator, action, rf, duty=grant.purpose)
    row = rf.get(pk)
    if row is None:
        raise NotFound("記録が見つかりません。消去された可能性があります。")
    return rf, grant, row


def record_open(*, operator: Operator, file: str, pk: int, token: str, log: bool = True) -> RecordPage:
    rf, grant, row = _open(operator, file, pk, token, "record.view")
    page = _page(rf, grant, row, token)
    if log:
        access_log.log_event(
            action="record.view",
            target_file=rf.key,
            target_code=row.juminhyo_code,
            duty=grant.purpose,
            detail=f"検索ID {grant.search_id}; 履歴 {len(page.history)}件",
        )
    return page


def _page(rf: RecordFile, grant: Grant, row, token: str) -> RecordPage:
    return RecordPage(
        file=rf,
        row=row,
        items=items_of(row, rf.item_fields),
        history=history_items(rf.history(row), row, rf.history_fields),
        history_labels=rf.history_labels(),
        removed=rf.is_removed(row),
        grant=grant,
        grant_token=token,
        has_my_number=rf.has_my_number and getattr(row, "my_number", None) is not None,
    )


def my_number_reveal(*, operator: Operator, file: str, pk: int, token: str, reason: str) -> tuple[RecordPage, str]:
    """The 個人番号 of one record, shown once to an operator whose role allows it, with a reason."""
    rf, grant, row = _open(operator, file, pk, token, "my_number.reveal")
    if not rf.has_my_number:
        raise InvalidInput("このファイルに個人番号はありません。", code="E_NO_MY_NUMBER")
    reason = check_reason(reason)
    number = resident_my_number(resident=row)
    if number is None:
        raise NotFound("この記録には個人番号がありません。", code="E_NO_MY_NUMBER")
    access_log.log_event(
        action="my_number.reveal",
        target_file=rf.key,
        target_code=row.juminhyo_code,
        duty=grant.purpose,
        detail=f"検索ID {grant.search_id}; 理由 {reason}",
    )
    # The row and grant just checked make the page: no second read of the record.
    return _page(rf, grant, row, token), number


# --- Printing (a PDF the server renders; jukinet/printing.py records every print) ----------

FORM_RECORD = "住基-検1"
FORM_RESULT_LIST = "住基-検2"


def record_print(
    *, operator: Operator, file: str, pk: int, token: str, reason: str, with_history: bool = False
) -> tuple[object, bytes]:
    """One record as a PDF (the 個人番号 is never printed from here)."""
    rf, grant, row = _open(operator, file, pk, token, "record.print")
    reason = printing.clean_reason(reason)  # the ledger's one rule, checked before any rendering
    blocks: list = [
        pdf.Heading(f"{rf.label}（{'消除' if rf.is_removed(row) else '現存'}）"),
        pdf.KeyValues([(item.label, item.value) for item in items_of(row, rf.item_fields)]),
    ]
    if with_history:
        earlier = rf.history(row)
        blocks.append(pdf.Heading(f"履歴（{len(earlier)}件）"))
        if earlier:
            versions = history_items(earlier, row, rf.history_fields)
            blocks.append(pdf.Table(rf.history_labels(), [[item.value for item in v] for v in versions]))
        else:
            blocks.append(pdf.Paragraph("履歴はありません。"))
    return printing.print_document(
        kind="record",
        file=rf.key,
        target_codes=[row.juminhyo_code],
        reason=reason,
        title=f"{rf.label} 記録票",
        form_number=FORM_RECORD,
        blocks=blocks,
        purpose=grant.purpose,
    )


def results_print(
    *, operator: Operator, file: str, conditions: Conditions, purpose: str, reference: str, reason: str
) -> tuple[object, bytes]:
    """Every match of a search (at most MAX_HITS) as a list; the search itself is logged with it."""
    rf = record_file(file)
    _ensure(operator, "record.print", rf, duty=purpose)
    purpose, reference = check_purpose(purpose, reference)
    reason = printing.clean_reason(reason)  # the ledger's one rule, checked before the query
    rows = list(
        rf.search(conditions).only(*LIST_FIELDS, *(("deleted",) if rf.key == "honnin" else ("status",)))[: MAX_HITS + 1]
    )
    if len(rows) > MAX_HITS:
        raise InvalidInput(
            f"該当が{MAX_HITS}件を超えるため印刷できません。条件を絞り込んでください。", code="E_TOO_MANY"
        )
    if not rows:
        raise InvalidInput("該当する記録がないため印刷できません。", code="E_NOTHING_TO_PRINT")
    table = pdf.Table(
        ["ふりがな", "氏名", "生年月日", "性別", "住所", "住民票コード", "状態"],
        [
            [r.name_kana, r.name, to_wareki(r.birth_date), r.get_sex_display(), r.address, r.juminhyo_code,
             "消除" if rf.is_removed(r) else "現存"]
            for r in rows
        ],
        col_widths_mm=[30, 26, 30, 9, 46, 28, 11],
    )  # fmt: skip
    blocks = [pdf.Paragraph(f"検索条件: {conditions.describe()}　該当 {len(rows)}件（かな順）"), table]
    return printing.print_document(
        kind="result_list",
        file=rf.key,
        target_codes=[r.juminhyo_code for r in rows],
        reason=reason,
        title=f"{rf.label} 検索結果一覧",
        form_number=FORM_RESULT_LIST,
        blocks=blocks,
        purpose=purpose,
    )
