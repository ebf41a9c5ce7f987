"""開示請求 and 提供状況の開示 at the desk: one function per step (docs/disclosure.md).

    開示請求:  受付 ──突合──▶ 突合済み ──決定──▶ 決定済み ──(通知書・開示する情報を印刷)──▶ 交付済み
               (any step before 交付) ──▶ 取下げ
    提供状況:  受付 ──突合──▶ 突合済み ──(提供状況を印刷)──▶ 交付済み   (該当なし: 突合で終わり)

Every step checks the role (``disclosure.desk``) and the operator's file duty before its
transaction (a refusal is logged and survives), locks the request, refuses anything but the
next step (``Conflict``), and writes its access-log entry in the same transaction. Log details
carry the request number, the outcome and which items differ — never a name, a birth date, an
address, a reason's text or a 個人番号 (the 住民票コード goes into ``target_code``).

There is no fee: nothing here computes or records one, and every notice says so.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone

from audit import access_log
from audit.models import AccessLogEntry, Operator
from disclosure import desk_input, forms_pdf
from disclosure.models import (
    Decision,
    DisclosureRequest,
    DisclosureState,
    MatchResult,
    ProvisionStatusRequest,
)
from disclosure.selectors import (
    MatchOutcome,
    disclosure_may_print_record,
    duties_by_code,
    provision_records_for,
    record_by_code,
    record_match,
)
from honnin.selectors import resident_my_number
from jukinet import pdf, printing
from jukinet.errors import Conflict, InvalidInput, NotFound
from jukinet.four_info import NAME_MAX_LENGTH
from jukinet.kana import seion_key
from jukinet.models import PrintRecord
from jukinet.purposes import Purpose
from jukinet.record_files import record_file
from jukinet.wareki import BirthDateError, parse_birth_date

__all__ = [
    "DEFAULT_PRINT_REASON",
    "disclosure_decide",
    "disclosure_issue",
    "disclosure_match",
    "disclosure_match_confirm",
    "disclosure_print_notice",
    "disclosure_print_record",
    "disclosure_register",
    "disclosure_withdraw",
    "parse_subject_birth_date",
    "provision_status_issue",
    "provision_status_match",
    "provision_status_match_confirm",
    "provision_status_print",
    "provision_status_register",
]

PURPOSE = Purpose.DISCLOSURE.value
NUMBER_PREFIX = "開示"  # 「開示2026-000001」
STATUS_NUMBER_PREFIX = "提供状況"  # 「提供状況2026-000001」
DEFAULT_PRINT_REASON = "開示請求への対応"
DECISION_REASON_MAX_LENGTH = 500
MATCH_NOTE_MAX_LENGTH = 300
ADDRESS_MAX_LENGTH = 255
# Provision records exist from the start of the network (住基ネット第一次稼働).
PERIOD_EARLIEST = dt.date(2002, 8, 5)


# --- Checks shared by every step -----------------------------------------------------------------


def _load(model, pk: object, *, lock: bool = False):
    rows = model.objects.select_for_update() if lock else model.objects
    row = rows.filter(pk=pk).first() if isinstance(pk, int) else None
    if row is None:
        raise NotFound(f"{model._meta.verbose_name}が見つかりません。", code="E_REQUEST_NOT_FOUND")
    return row


def _authorized(operator: Operator, model, pk: int, *, log_action: str):
    """The request, after role and file duty were checked (before the step's transaction)."""
    row = _load(model, pk)
    code = row.matched_code if isinstance(row, DisclosureRequest) else row.juminhyo_code
    desk_input.ensure_desk(operator, purpose=PURPOSE, log_action=log_action, file=row.file, target_code=code)
    return row


def _require_state(request: DisclosureRequest, *expected: str, doing: str) -> None:
    if request.state in expected:
        return
    allowed = "・".join(f"「{DisclosureState(s).label}」" for s in expected)
    raise Conflict(
        f"この請求は「{request.get_state_display()}」です。{doing}のは{allowed}の請求だけです。",
        code="E_DISCLOSURE_STATE",
    )


def _requester(**fields) -> dict:
    """The shared requester checks of the desk (disclosure/desk_input.py), worded for a 請求."""
    try:
        return desk_input.requester(**fields)
    except InvalidInput as exc:
        exc.message = exc.message.replace("申出者", "請求者").replace("申出", "請求")
        raise


_KANA = re.compile(r"[ァ-ヶヽ]+")


def parse_subject_birth_date(value: object, *, field: str = "subject_birth_date") -> dt.date:
    """A birth date as written on a request: 和暦 or 西暦, to the day (「昭和60年3月1日」「S60.3.1」「1985-03-01」)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        if value > timezone.localdate():
            raise InvalidInput("未来の生年月日は指定できません。", code="E_BIRTH_DATE", field=field)
        return value
    text = desk_input.text(value, field=field, label="生年月日", max_length=20, required=True)
    try:
        parsed = parse_birth_date(text, today=timezone.localdate())
    except BirthDateError as exc:
        raise InvalidInput(exc.message, code=exc.code, field=field) from None
    if parsed.precision != "day":
        raise InvalidInput(
            "生年月日は年月日まで入力してください（例: 昭和60年3月1日、1985-03-01）。", code="E_BIRTH_DATE", field=field
        )
    return parsed.start


def _subject(
    *, name: object, name_kana: object, birth_date: object, sex: object, address: object, juminhyo_code: object
) -> dict:
    """The subject's 4情報 (and 住民票コード) as the requester wrote them, checked."""
    name = desk_input.text(name, field="subject_name", label="本人の氏名", max_length=NAME_MAX_LENGTH, required=True)
    kana = desk_input.text(
        name_kana, field="subject_name_kana", label="本人のふりがな", max_length=NAME_MAX_LENGTH, required=True
    )
    if not _KANA.fullmatch(seion_key(kana)) or len(seion_key(kana)) < 2:
        raise InvalidInput(
            "ふりがなはひらがな・カタカナで2文字以上入力してください。", code="E_KANA", field="subject_name_kana"
        )
    return {
        "subject_name": name,
        "subject_name_kana": kana,
        "subject_birth_date": parse_subject_birth_date(birth_date),
        "subject_sex": desk_input.choice(sex, field="subject_sex", label="本人の性別", choices=("1", "2")),
        "subject_address": desk_input.text(
            address, field="subject_address", label="本人の住所", max_length=ADDRESS_MAX_LENGTH, required=True
        ),
        "subject_juminhyo_code": desk_input.juminhyo_code(juminhyo_code, field="subject_juminhyo_code", required=False),
    }


def _match_of(row, *, reference: str, log: bool = True) -> MatchOutcome:
    return record_match(
        row.file,
        name_kana=row.subject_name_kana,
        name=row.subject_name,
        birth_date=row.subject_birth_date,
        sex=row.subject_sex,
        address=row.subject_address,
        juminhyo_code=row.subject_juminhyo_code,
        purpose=PURPOSE,
        reference=reference,
        log=log,
    )


def _settle_match(
    outcome: MatchOutcome, *, juminhyo_code: str, accept_mismatch: bool, note: object, not_found: bool
) -> tuple[str, str, str, tuple[str, ...]]:
    """(match_result, matched code, note, differing labels) from the desk's choice, or InvalidInput."""
    if not_found:
        if outcome.candidates:
            raise InvalidInput(
                "候補の記録があります。該当なしとするのは、候補が一つもないときだけです。", code="E_MATCH_NOT_FOUND"
            )
        return MatchResult.NOT_FOUND, "", "", ()
    if not outcome.candidates:
        raise InvalidInput(
            "該当する記録がありません。「該当なしとして確定」を選んでください。", code="E_MATCH_NOT_FOUND"
        )
    candidate = outcome.find(juminhyo_code) if isinstance(juminhyo_code, str) else None
    if candidate is None:
        raise InvalidInput("突合する記録を候補から選んでください。", code="E_MATCH_CANDIDATE", field="candidate")
    if candidate.matches:
        return MatchResult.MATCHED, candidate.juminhyo_code, "", ()
    note = desk_input.text(
        note, field="match_note", label="不一致の判断の理由", max_length=MATCH_NOTE_MAX_LENGTH, required=False
    )
    if not accept_mismatch:
        raise InvalidInput(
            f"{'・'.join(candidate.differing)}が一致しません。本人確認書類等で同一人と確認した場合は、"
            "確認欄にチェックを入れ、判断の理由を入力してください。",
            code="E_MATCH_MISMATCH",
            field="accept_mismatch",
        )
    if not note:
        raise InvalidInput(
            "不一致の項目があっても同一人と判断した理由を入力してください。", code="E_MATCH_NOTE", field="match_note"
        )
    return MatchResult.MISMATCH_ACCEPTED, candidate.juminhyo_code, note, candidate.differing


def _match_detail(no: str, result: str, differing: tuple[str, ...]) -> str:
    text = f"受付番号 {no}; 突合結果 {MatchResult(result).label}"
    return text + (f"; 不一致 {'・'.join(differing)}" if differing else "")


def _log_print(no: str, form: forms_pdf.Form, record: PrintRecord, *, file: str, code: str, extra: str = "") -> None:
    access_log.log_event(
        action="disclosure.print",
        target_file=file,
        target_code=code,
        duty=PURPOSE,
        detail=f"受付番号 {no}; {form.form_number}; 印刷番号 {record.serial}" + (f"; {extra}" if extra else ""),
    )


def _printed(no: str, form_number: str) -> bool:
    """Whether a form of this request was printed (the entry _log_print wrote with the print)."""
    return AccessLogEntry.objects.filter(
        action="disclosure.print", detail__startswith=f"受付番号 {no}; {form_number};"
    ).exists()


# --- 開示請求: 受付 -------------------------------------------------------------------------------


def disclosure_register(
    *,
    operator: Operator,
    file: str,
    channel: str,
    received_on: dt.date,
    requester_name: str,
    relation: str,
    agent_basis: str = "",
    id_document: str,
    id_document_note: str = "",
    subject_name: str,
    subject_name_kana: str,
    subject_birth_date: str | dt.date,
    subject_sex: str,
    subject_address: str,
    subject_juminhyo_code: str = "",
    include_history: bool = False,
) -> DisclosureRequest:
    """Record a 開示請求 as received: who asked and how, and the subject as written."""
    file = desk_input.file_key(file)
    desk_input.ensure_desk(operator, purpose=PURPOSE, log_action="disclosure.register", file=file)
    # The subject first: for a 本人 the page copies the subject's name into the requester's.
    subject = _subject(
        name=subject_name,
        name_kana=subject_name_kana,
        birth_date=subject_birth_date,
        sex=subject_sex,
        address=subject_address,
        juminhyo_code=subject_juminhyo_code,
    )
    data = _requester(
        channel=channel,
        received_on=received_on,
        requester_name=requester_name,
        relation=relation,
        agent_basis=agent_basis,
        id_document=id_document,
        id_document_note=id_document_note,
    )
    with transaction.atomic():
        request = DisclosureRequest.objects.create(
            request_no=desk_input.next_number(
                table=DisclosureRequest._meta.db_table, column="request_no", prefix=NUMBER_PREFIX
            ),
            file=file,
            received_by=operator.login_id,
            include_history=bool(include_history),
            **data,
            **subject,
        )
        access_log.log_event(
            action="disclosure.register",
            target_file=file,
            target_code=request.subject_juminhyo_code,
            duty=PURPOSE,
            detail=(
                f"受付番号 {request.request_no}; 受付方法 {request.get_channel_display()}; "
                f"請求者 {request.get_relation_display()}; 本人確認 {request.get_id_document_display()}; "
                f"履歴 {'請求あり' if request.include_history else '請求なし'}"
            ),
        )
    return request


# --- 開示請求: 突合 -------------------------------------------------------------------------------


def disclosure_match(*, operator: Operator, request_id: int) -> tuple[DisclosureRequest, MatchOutcome]:
    """Find and compare the record for a received request (a logged read; nothing is written)."""
    request = _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.match")
    _require_state(request, DisclosureState.RECEIVED, doing="突合する")
    return request, _match_of(request, reference=request.request_no)


def disclosure_match_confirm(
    *,
    operator: Operator,
    request_id: int,
    juminhyo_code: str = "",
    accept_mismatch: bool = False,
    note: str = "",
    not_found: bool = False,
) -> DisclosureRequest:
    """Settle the 突合: the record the desk picked (a difference needs ``accept_mismatch`` and a
    ``note``: the desk's explicit decision), or ``not_found`` when there was no candidate."""
    _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.match")
    with transaction.atomic():
        request = _load(DisclosureRequest, request_id, lock=True)
        _require_state(request, DisclosureState.RECEIVED, doing="突合する")
        # Compared again as the records are now: the page the desk saw may be minutes old.
        outcome = _match_of(request, reference=request.request_no, log=False)
        result, code, note, differing = _settle_match(
            outcome, juminhyo_code=juminhyo_code, accept_mismatch=accept_mismatch, note=note, not_found=not_found
        )
        request.match_result, request.matched_code, request.match_note = result, code, note
        request.matched_by, request.matched_at = operator.login_id, timezone.now()
        request.state = DisclosureState.MATCHED
        request.save()
        access_log.log_event(
            action="disclosure.match",
            target_file=request.file,
            target_code=code,
            duty=PURPOSE,
            detail=_match_detail(request.request_no, result, differing),
        )
    return request


# --- 開示請求: 決定 -------------------------------------------------------------------------------


def disclosure_decide(*, operator: Operator, request_id: int, decision: str, reason: str = "") -> DisclosureRequest:
    """開示 or 不開示 (with the reason printed on the notice). A request whose 突合 found no
    record can only be 不開示."""
    _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.decide")
    decision = desk_input.choice(decision, field="decision", label="決定", choices=Decision.values)
    reason = desk_input.text(
        reason,
        field="decision_reason",
        label="不開示の理由",
        max_length=DECISION_REASON_MAX_LENGTH,
        required=decision == Decision.NON_DISCLOSE,
        multiline=True,
    )
    with transaction.atomic():
        request = _load(DisclosureRequest, request_id, lock=True)
        _require_state(request, DisclosureState.MATCHED, doing="開示・不開示を決定する")
        if decision == Decision.DISCLOSE and request.match_result == MatchResult.NOT_FOUND:
            raise InvalidInput(
                "突合で該当する記録がなかったため、開示の決定はできません（不開示とし、その理由を記入してください）。",
                code="E_DECISION_NOT_FOUND",
                field="decision",
            )
        request.decision = decision
        request.decision_reason = reason if decision == Decision.NON_DISCLOSE else ""
        request.decided_by, request.decided_on = operator.login_id, timezone.localdate()
        request.state = DisclosureState.DECIDED
        request.save()
        access_log.log_event(
            action="disclosure.decide",
            target_file=request.file,
            target_code=request.matched_code,
            duty=PURPOSE,
            detail=f"受付番号 {request.request_no}; 決定 {request.get_decision_display()}",
        )
    return request


# --- 開示請求: 印刷と交付 ---------------------------------------------------------------------------


def _decided(operator: Operator, request_id: int) -> DisclosureRequest:
    request = _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.print")
    _require_state(request, DisclosureState.DECIDED, DisclosureState.ISSUED, doing="通知書等を印刷できる")
    return request


def disclosure_print_notice(*, operator: Operator, request_id: int, reason: str) -> tuple[PrintRecord, bytes]:
    """The decision notice (様式第1号 開示 / 様式第2号 不開示), through the print ledger."""
    request = _decided(operator, request_id)
    reason = printing.clean_reason(reason)
    record = record_by_code(request.file, request.matched_code)
    form = forms_pdf.disclosure_notice_form(request)
    with transaction.atomic():
        printed, data = printing.print_document(
            kind=form.kind,
            file=request.file,
            target_codes=[request.matched_code] if request.matched_code else [],
            reason=reason,
            title=form.title,
            form_number=form.form_number,
            blocks=forms_pdf.disclosure_notice_blocks(request, record),
            issuer=pdf.governor(),
            purpose=PURPOSE,
        )
        _log_print(request.request_no, form, printed, file=request.file, code=request.matched_code)
    return printed, data


def disclosure_print_record(*, operator: Operator, request_id: int, reason: str) -> tuple[PrintRecord, bytes]:
    """The disclosed information (様式第3号): the record's current items, the 個人番号 for honnin,
    and the earlier versions when asked for — only for a matched request decided to disclose."""
    request = _decided(operator, request_id)
    if not disclosure_may_print_record(request):
        raise Conflict("開示の決定をした請求だけ、開示する情報を印刷できます。", code="E_NOT_DISCLOSED")
    reason = printing.clean_reason(reason)
    rf = record_file(request.file)
    record = record_by_code(request.file, request.matched_code)
    if record is None:
        raise NotFound(
            "突合した記録が見つかりません（保存期間が過ぎて消去された可能性があります）。", code="E_RECORD_GONE"
        )
    history = rf.history(record) if request.include_history else []
    my_number = resident_my_number(resident=record) if rf.has_my_number else None
    form = forms_pdf.disclosed_record_form(request)
    with transaction.atomic():
        printed, data = printing.print_document(
            kind=form.kind,
            file=request.file,
            target_codes=[record.juminhyo_code],
            reason=reason,
            title=form.title,
            form_number=form.form_number,
            blocks=forms_pdf.disclosed_record_blocks(request, record, history, my_number=my_number),
            issuer=pdf.governor(),
            purpose=PURPOSE,
        )
        extra = f"履歴 {len(history)}件" if request.include_history else "履歴 請求なし"
        if rf.has_my_number:
            extra += "; 個人番号 記載" if my_number else "; 個人番号 記録なし"
        _log_print(request.request_no, form, printed, file=request.file, code=record.juminhyo_code, extra=extra)
    return printed, data


def disclosure_issue(*, operator: Operator, request_id: int) -> DisclosureRequest:
    """交付済み: the forms were handed over or posted. Refused until each has been printed."""
    _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.issue")
    with transaction.atomic():
        request = _load(DisclosureRequest, request_id, lock=True)
        _require_state(request, DisclosureState.DECIDED, doing="交付済みにできる")
        missing = []
        if not _printed(request.request_no, forms_pdf.disclosure_notice_form(request).form_number):
            missing.append("決定通知書")
        if disclosure_may_print_record(request) and not _printed(
            request.request_no, forms_pdf.disclosed_record_form(request).form_number
        ):
            missing.append("開示する情報")
        if missing:
            raise Conflict(f"{'と'.join(missing)}を印刷してから交付済みにしてください。", code="E_NOT_PRINTED")
        request.state, request.issued_at = DisclosureState.ISSUED, timezone.now()
        request.save()
        access_log.log_event(
            action="disclosure.issue",
            target_file=request.file,
            target_code=request.matched_code,
            duty=PURPOSE,
            detail=f"受付番号 {request.request_no}; 交付（{request.get_channel_display()}）",
        )
    return request


def disclosure_withdraw(*, operator: Operator, request_id: int) -> DisclosureRequest:
    """取下げ: the requester withdrew the request before the forms were handed over."""
    _authorized(operator, DisclosureRequest, request_id, log_action="disclosure.withdraw")
    with transaction.atomic():
        request = _load(DisclosureRequest, request_id, lock=True)
        _require_state(
            request, DisclosureState.RECEIVED, DisclosureState.MATCHED, DisclosureState.DECIDED, doing="取り下げる"
        )
        request.state = DisclosureState.WITHDRAWN
        request.save()
        access_log.log_event(
            action="disclosure.withdraw",
            target_file=request.file,
            target_code=request.matched_code,
            duty=PURPOSE,
            detail=f"受付番号 {request.request_no}; 取下げ",
        )
    return request


# --- 提供状況の開示 -------------------------------------------------------------------------------


def _period(period_from: object, period_to: object) -> tuple[dt.date, dt.date]:
    start = desk_input.past_date(period_from, field="period_from", label="対象期間の初日", not_before=PERIOD_EARLIEST)
    end = desk_input.past_date(period_to, field="period_to", label="対象期間の末日", not_before=PERIOD_EARLIEST)
    if start > end:
        raise InvalidInput("対象期間の初日は末日以前の日付にしてください。", code="E_PERIOD", field="period_to")
    return start, end


def provision_status_register(
    *,
    operator: Operator,
    file: str,
    channel: str,
    received_on: dt.date,
    requester_name: str,
    relation: str,
    agent_basis: str = "",
    id_document: str,
    id_document_note: str = "",
    subject_name: str,
    subject_name_kana: str,
    subject_birth_date: str | dt.date,
    subject_sex: str,
    subject_address: str,
    subject_juminhyo_code: str = "",
    period_from: dt.date,
    period_to: dt.date,
) -> ProvisionStatusRequest:
    """Record a 提供状況の開示 request as received (the 住民票コード comes from the 突合)."""
    file = desk_input.file_key(file)
    desk_input.ensure_desk(operator, purpose=PURPOSE, log_action="provision_status.register", file=file)
    # The subject first: for a 本人 the page copies the subject's name into the requester's.
    subject = _subject(
        name=subject_name,
        name_kana=subject_name_kana,
        birth_date=subject_birth_date,
        sex=subject_sex,
        address=subject_address,
        juminhyo_code=subject_juminhyo_code,
    )
    data = _requester(
        channel=channel,
        received_on=received_on,
        requester_name=requester_name,
        relation=relation,
        agent_basis=agent_basis,
        id_document=id_document,
        id_document_note=id_document_note,
    )
    start, end = _period(period_from, period_to)
    with transaction.atomic():
        request = ProvisionStatusRequest.objects.create(
            request_no=desk_input.next_number(
                table=ProvisionStatusRequest._meta.db_table, column="request_no", prefix=STATUS_NUMBER_PREFIX
            ),
            file=file,
            received_by=operator.login_id,
            period_from=start,
            period_to=end,
            **data,
            **subject,
        )
        access_log.log_event(
            action="provision_status.register",
            target_file=file,
            target_code=request.subject_juminhyo_code,
            duty=PURPOSE,
            detail=(
                f"受付番号 {request.request_no}; 受付方法 {request.get_channel_display()}; "
                f"請求者 {request.get_relation_display()}; 本人確認 {request.get_id_document_display()}; "
                f"期間 {start.isoformat()}〜{end.isoformat()}"
            ),
        )
    return request


def _require_unmatched(request: ProvisionStatusRequest) -> None:
    if request.match_result:
        raise Conflict(
            f"この請求は突合済みです（{request.get_match_result_display()}）。", code="E_PROVISION_STATUS_STATE"
        )


def provision_status_match(*, operator: Operator, request_id: int) -> tuple[ProvisionStatusRequest, MatchOutcome]:
    request = _authorized(operator, ProvisionStatusRequest, request_id, log_action="provision_status.match")
    _require_unmatched(request)
    return request, _match_of(request, reference=request.request_no)


def provision_status_match_confirm(
    *,
    operator: Operator,
    request_id: int,
    juminhyo_code: str = "",
    accept_mismatch: bool = False,
    note: str = "",
    not_found: bool = False,
) -> ProvisionStatusRequest:
    _authorized(operator, ProvisionStatusRequest, request_id, log_action="provision_status.match")
    with transaction.atomic():
        request = _load(ProvisionStatusRequest, request_id, lock=True)
        _require_unmatched(request)
        outcome = _match_of(request, reference=request.request_no, log=False)
        result, code, note, differing = _settle_match(
            outcome, juminhyo_code=juminhyo_code, accept_mismatch=accept_mismatch, note=note, not_found=not_found
        )
        request.match_result, request.juminhyo_code, request.match_note = result, code, note
        request.matched_by, request.matched_at = operator.login_id, timezone.now()
        request.save()
        access_log.log_event(
            action="provision_status.match",
            target_file=request.file,
            target_code=code,
            duty=PURPOSE,
            detail=_match_detail(request.request_no, result, differing),
        )
    return request


def _matched_status(operator: Operator, request_id: int, *, log_action: str) -> ProvisionStatusRequest:
    request = _authorized(operator, ProvisionStatusRequest, request_id, log_action=log_action)
    if request.match_result not in (MatchResult.MATCHED, MatchResult.MISMATCH_ACCEPTED):
        raise Conflict("突合で記録が確認できた請求だけ、提供状況を印刷できます。", code="E_PROVISION_STATUS_STATE")
    return request


def provision_status_print(*, operator: Operator, request_id: int, reason: str) -> tuple[PrintRecord, bytes]:
    """The provisions of the matched record within the period (様式第5号), through the ledger."""
    request = _matched_status(operator, request_id, log_action="provision_status.print")
    reason = printing.clean_reason(reason)
    records = provision_records_for(
        juminhyo_code=request.juminhyo_code,
        file=request.file,
        period_from=request.period_from,
        period_to=request.period_to,
    )
    subject = record_by_code(request.file, request.juminhyo_code)
    form = forms_pdf.provision_status_form(request)
    with transaction.atomic():
        printed, data = printing.print_document(
            kind=form.kind,
            file=request.file,
            target_codes=[request.juminhyo_code],
            reason=reason,
            title=form.title,
            form_number=form.form_number,
            blocks=forms_pdf.provision_status_blocks(
                request,
                records,
                subject_name=subject.name if subject is not None else "",
                duties=duties_by_code(r.duty_code for r in records),
            ),
            issuer=pdf.governor(),
            purpose=PURPOSE,
        )
        _log_print(
            request.request_no, form, printed, file=request.file, code=request.juminhyo_code, extra=f"{len(records)}件"
        )
    return printed, data


def provision_status_issue(*, operator: Operator, request_id: int) -> ProvisionStatusRequest:
    _matched_status(operator, request_id, log_action="provision_status.issue")
    with transaction.atomic():
        request = _load(ProvisionStatusRequest, request_id, lock=True)
        if request.issued_at is not None:
            raise Conflict("この請求は交付済みです。", code="E_PROVISION_STATUS_STATE")
        if not _printed(request.request_no, forms_pdf.provision_status_form(request).form_number):
            raise Conflict("提供状況を印刷してから交付済みにしてください。", code="E_NOT_PRINTED")
        request.issued_at = timezone.now()
        request.save()
        access_log.log_event(
            action="provision_status.issue",
            target_file=request.file,
            target_code=request.juminhyo_code,
            duty=PURPOSE,
            detail=f"受付番号 {request.request_no}; 交付（{request.get_channel_display()}）",
        )
    return request
