"""訂正・追加・削除の申出 (住基法第30条の35): the desk's workflow, one function per step.

    受付 (received) ──investigate──▶ 調査中 (investigating) ──close──▶ 訂正済み (corrected)
                                                                 └──▶ 訂正しない (not corrected)

The prefecture does not edit the record: the municipality that keeps it is asked, and corrects
it through its own update notice, which the request then points to. Each step checks the role
(``disclosure.desk``) and the operator's file duty, refuses anything but the next state
(``Conflict``, a Japanese message, nothing written), and writes its access-log entry in the same
transaction. Migration 0002 holds the same order in the database as a second line.

Log details carry the request number, kind, item and state: never a name, the value asked for,
a reason's text or a 個人番号.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit import access_log
from audit.models import Operator
from disclosure import desk_input, forms_pdf
from disclosure.models import (
    CorrectionKind,
    CorrectionRequest,
    CorrectionState,
    DisclosureRequest,
    DisclosureState,
)
from disclosure.selectors_corrections import item_choices, item_label, notice_candidates, record_ref
from jukinet import pdf, printing
from jukinet.errors import Conflict, InvalidInput, NotFound
from jukinet.models import PrintKind, PrintRecord
from jukinet.purposes import Purpose
from jukinet.selectors_notices import municipality_name, municipality_names

PURPOSE = Purpose.CORRECTION.value
NUMBER_PREFIX = "訂正"  # 「訂正2026-000001」, beside 「開示…」「提供状況…」
FORM_NUMBER = forms_pdf.FORM_NUMBER_CORRECTION  # 様式第4号 (the desk's one list of numbers)
NOTICE_TITLE = "訂正等の申出に対する結果通知書"
REASON_MAX_LENGTH = 500

__all__ = [
    "correction_close_corrected",
    "correction_close_not_corrected",
    "correction_investigate",
    "correction_print_notice",
    "correction_register",
]


# --- Checks shared by every step ---------------------------------------------------------------


def _load(correction_id: int, *, lock: bool = False) -> CorrectionRequest:
    rows = CorrectionRequest.objects.select_for_update() if lock else CorrectionRequest.objects
    row = rows.filter(pk=correction_id).first() if isinstance(correction_id, int) else None
    if row is None:
        raise NotFound("訂正等の申出が見つかりません。", code="E_CORRECTION_NOT_FOUND")
    return row


def _authorized(operator: Operator, correction_id: int, *, log_action: str) -> None:
    """Role and file duty for a step on an existing request, checked (and a refusal logged)
    before the step's transaction, so that its rollback does not take the log entry with it."""
    correction = _load(correction_id)
    desk_input.ensure_desk(
        operator, purpose=PURPOSE, log_action=log_action, file=correction.file, target_code=correction.juminhyo_code
    )


def _locked(correction_id: int) -> CorrectionRequest:
    """The request, locked for the rest of the step's transaction.

    Two clerks closing the same request at once take turns: the second sees the state the first
    left and is refused, instead of both passing the state check.
    """
    return _load(correction_id, lock=True)


def _require_state(correction: CorrectionRequest, expected: str, *, doing: str) -> None:
    if correction.state == expected:
        return
    if correction.state in (CorrectionState.CORRECTED, CorrectionState.NOT_CORRECTED):
        message = f"この申出は「{correction.get_state_display()}」で完了しているため、{doing}ことはできません。"
        raise Conflict(message, code="E_CORRECTION_CLOSED")
    message = (
        f"この申出は「{correction.get_state_display()}」です。"
        f"{doing}のは「{CorrectionState(expected).label}」の申出だけです。"
    )
    raise Conflict(message, code="E_CORRECTION_STATE")


# --- 受付 ---------------------------------------------------------------------------------------


def _disclosure_link(disclosure_no: str, *, file: str, juminhyo_code: str) -> DisclosureRequest | None:
    number = desk_input.text(
        disclosure_no, field="disclosure_no", label="開示請求の受付番号", max_length=20, required=False
    )
    if not number:
        return None
    disclosure = DisclosureRequest.objects.filter(request_no=number).first()
    if disclosure is None:
        raise InvalidInput("この受付番号の開示請求はありません。", code="E_DISCLOSURE_NOT_FOUND", field="disclosure_no")
    if disclosure.file != file:
        raise InvalidInput(
            "この開示請求は別のファイルについての請求です。", code="E_DISCLOSURE_FILE", field="disclosure_no"
        )
    if disclosure.state in (DisclosureState.RECEIVED, DisclosureState.WITHDRAWN) or not disclosure.matched_code:
        raise InvalidInput(
            "この開示請求は突合が済んでいないか取り下げられています。", code="E_DISCLOSURE_STATE", field="disclosure_no"
        )
    if disclosure.matched_code != juminhyo_code:
        raise InvalidInput(
            "この開示請求で突合した住民票コードと、申出の住民票コードが違います。",
            code="E_DISCLOSURE_CODE",
            field="juminhyo_code",
        )
    return disclosure


def correction_register(
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
    juminhyo_code: str,
    kind: str,
    item: str,
    requested_value: str,
    requester_reason: str = "",
    disclosure_no: str = "",
) -> CorrectionRequest:
    """Record a request as received: who asked and how, the record and item, what they say."""
    file = desk_input.file_key(file)
    desk_input.ensure_desk(operator, purpose=PURPOSE, log_action="correction.register", file=file)
    data = desk_input.requester(
        channel=channel,
        received_on=received_on,
        requester_name=requester_name,
        relation=relation,
        agent_basis=agent_basis,
        id_document=id_document,
        id_document_note=id_document_note,
    )
    code = desk_input.juminhyo_code(juminhyo_code)
    kind = desk_input.choice(kind, field="kind", label="申出の種類", choices=CorrectionKind.values)
    item = desk_input.choice(item, field="item", label="対象の項目", choices=dict(item_choices(file)))
    value = desk_input.text(
        requested_value, field="requested_value", label="申出の内容", max_length=300, required=True, multiline=True
    )
    reason = desk_input.text(
        requester_reason, field="requester_reason", label="申出の理由", max_length=500, required=False, multiline=True
    )
    ref = record_ref(file=file, juminhyo_code=code)
    if ref is None:
        raise InvalidInput(
            f"この住民票コードの記録は{desk_input.FILE_LABELS[file]}ファイルにありません。",
            code="E_RECORD_NOT_FOUND",
            field="juminhyo_code",
        )
    if ref.juminhyo_code != code:
        # The request is about the record as it is now: the update notices that may correct it
        # carry the current code.
        raise InvalidInput(
            f"この住民票コードは変更されています。現在の住民票コード {ref.juminhyo_code} で受け付けてください。",
            code="E_CODE_CHANGED",
            field="juminhyo_code",
        )
    disclosure = _disclosure_link(disclosure_no, file=file, juminhyo_code=code)
    with transaction.atomic():
        correction = CorrectionRequest.objects.create(
            request_no=desk_input.next_number(
                table=CorrectionRequest._meta.db_table, column="request_no", prefix=NUMBER_PREFIX
            ),
            file=file,
            received_by=operator.login_id,
            disclosure=disclosure,
            juminhyo_code=code,
            kind=kind,
            item=item,
            requested_value=value,
            requester_reason=reason,
            **data,
        )
        access_log.log_event(
            action="correction.register",
            target_file=file,
            target_code=code,
            duty=Purpose.CORRECTION.value,
            detail="; ".join(
                [correction.request_no, correction.get_kind_display(), f"項目 {item}", correction.get_channel_display()]
                + ([f"開示請求 {disclosure.request_no}"] if disclosure else [])
            ),
        )
    return correction


# --- 調査中: the municipality asked ---------------------------------------------------------------


def default_municipality(correction: CorrectionRequest) -> str:
    """The municipality that keeps the record: 市町村コード (honnin) / 附票管理市町村コード (fuhyo)."""
    ref = record_ref(file=correction.file, juminhyo_code=correction.juminhyo_code)
    return ref.municipality_code if ref else ""


def correction_investigate(
    *, operator: Operator, correction_id: int, municipality_code: str, asked_on: dt.date
) -> CorrectionRequest:
    """受付 → 調査中: the municipality asked to look into the request, and when."""
    _authorized(operator, correction_id, log_action="correction.investigate")
    with transaction.atomic():
        correction = _locked(correction_id)
        _require_state(correction, CorrectionState.RECEIVED, doing="市町村に照会する")
        code = municipality_code.strip() if isinstance(municipality_code, str) else ""
        if code not in municipality_names():
            raise InvalidInput(
                "照会先には県内の市町村コード（検査数字を含む6桁）を指定してください。",
                code="E_MUNICIPALITY",
                field="municipality_code",
            )
        asked_on = desk_input.past_date(asked_on, field="asked_on", label="照会日", not_before=correction.received_on)
        correction.state = CorrectionState.INVESTIGATING
        correction.municipality_code = code
        correction.asked_on = asked_on
        correction.save(update_fields=["state", "municipality_code", "asked_on", "updated_at"])
        access_log.log_event(
            action="correction.investigate",
            target_file=correction.file,
            target_code=correction.juminhyo_code,
            duty=Purpose.CORRECTION.value,
            detail=f"{correction.request_no}; 照会先 {code}; 照会日 {asked_on.isoformat()}",
        )
    return correction


# --- 完了: 訂正済み / 訂正しない ----------------------------------------------------------------------


def correction_close_corrected(*, operator: Operator, correction_id: int, notice_id: str) -> CorrectionRequest:
    """調査中 → 訂正済み, pointing to the municipality's update notice that corrected the record.

    The notice must be one of :func:`notice_candidates`: applied, of the same file and person,
    received on or after the day the request was received.
    """
    _authorized(operator, correction_id, log_action="correction.close")
    with transaction.atomic():
        correction = _locked(correction_id)
        _require_state(correction, CorrectionState.INVESTIGATING, doing="訂正済みにする")
        if not isinstance(notice_id, str) or not notice_id.strip():
            raise InvalidInput("訂正した更新通知を選んでください。", code="E_NOTICE_REQUIRED", field="notice_id")
        notice = notice_candidates(correction).filter(notice_id=notice_id.strip()[:64]).first()
        if notice is None:
            raise InvalidInput(
                "この通知IDは、申出の受付日以後に反映された同じファイル・同じ住民票コードの更新通知ではありません。",
                code="E_NOTICE_NOT_CANDIDATE",
                field="notice_id",
            )
        now = timezone.now()
        correction.state = CorrectionState.CORRECTED
        correction.corrected_notice_id = notice.notice_id
        correction.corrected_on = timezone.localdate(notice.decided_at or notice.received_at)
        correction.closed_by = operator.login_id
        correction.closed_at = now
        correction.save(
            update_fields=["state", "corrected_notice_id", "corrected_on", "closed_by", "closed_at", "updated_at"]
        )
        access_log.log_event(
            action="correction.close",
            target_file=correction.file,
            target_code=correction.juminhyo_code,
            duty=Purpose.CORRECTION.value,
            detail=f"{correction.request_no}; 訂正済み; 更新通知 {notice.notice_id}",
        )
    return correction


def correction_close_not_corrected(*, operator: Operator, correction_id: int, reason: str) -> CorrectionRequest:
    """調査中 → 訂正しない, with the reason that the notice to the requester will state."""
    _authorized(operator, correction_id, log_action="correction.close")
    with transaction.atomic():
        correction = _locked(correction_id)
        _require_state(correction, CorrectionState.INVESTIGATING, doing="訂正しないと決める")
        reason = desk_input.text(
            reason, field="reason", label="訂正しない理由", max_length=REASON_MAX_LENGTH, required=True, multiline=True
        )
        correction.state = CorrectionState.NOT_CORRECTED
        correction.not_corrected_reason = reason
        correction.closed_by = operator.login_id
        correction.closed_at = timezone.now()
        correction.save(update_fields=["state", "not_corrected_reason", "closed_by", "closed_at", "updated_at"])
        access_log.log_event(
            action="correction.close",
            target_file=correction.file,
            target_code=correction.juminhyo_code,
            duty=Purpose.CORRECTION.value,
            detail=f"{correction.request_no}; 訂正しない",
        )
    return correction


# --- The notice of the outcome (PDF) ----------------------------------------------------------------


def notice_blocks(correction: CorrectionRequest) -> list[pdf.Block]:
    """What the notice says: to whom, what was asked, the outcome (and for 訂正しない, why and
    the right to seek review). The addressee, the 教示 and the contact are the desk's shared
    pieces (disclosure/forms_pdf.py)."""
    file_label = forms_pdf.info_label(correction.file)
    kind = correction.get_kind_display()
    asked = [
        ("受付番号", correction.request_no),
        ("申出年月日", forms_pdf.wareki(correction.received_on)),
        ("申出者", f"{correction.requester_name}（{correction.get_relation_display()}"
                   + (f"・{correction.agent_basis}）" if correction.agent_basis else "）")),
        ("対象の情報", f"{file_label}（住民票コード {correction.juminhyo_code}）"),
        ("申出の種類", kind),
        ("対象の項目", item_label(correction.file, correction.item)),
        ("申出の内容", correction.requested_value),
    ]  # fmt: skip
    if correction.requester_reason:
        asked.append(("申出の理由", correction.requester_reason))
    blocks: list[pdf.Block] = [
        forms_pdf.addressee_block(correction),
        pdf.Paragraph(
            f"{forms_pdf.wareki(correction.received_on)}付けで申出のあった{file_label}の{kind}について、"
            "住民基本台帳法の規定に基づき、次のとおり通知します。"
        ),
        pdf.Heading("1　申出の内容"),
        pdf.KeyValues(asked),
        pdf.Heading("2　結果"),
    ]
    if correction.state == CorrectionState.CORRECTED:
        municipality = f"{municipality_name(correction.municipality_code)}長"
        blocks.append(
            pdf.KeyValues(
                [
                    ("結果", f"{kind}しました"),
                    ("訂正等をした日", forms_pdf.wareki(correction.corrected_on)),
                    ("経緯", f"{municipality}からの{file_label}の更新の通知により、{kind}しました。"),
                ]
            )
        )
    else:
        blocks.append(
            pdf.KeyValues(
                [
                    ("結果", f"{kind}しないこととしました"),
                    ("理由", correction.not_corrected_reason),
                ]
            )
        )
        blocks += forms_pdf.review_notice_blocks()
    blocks.append(forms_pdf.contact_block())
    return blocks


def correction_print_notice(*, operator: Operator, correction_id: int, reason: str) -> tuple[PrintRecord, bytes]:
    """Print the notice of the outcome for a closed request: a print of the ledger (jukinet.printing)."""
    correction = _load(correction_id)
    desk_input.ensure_desk(
        operator,
        purpose=PURPOSE,
        log_action="correction.print",
        file=correction.file,
        target_code=correction.juminhyo_code,
    )
    if correction.state not in (CorrectionState.CORRECTED, CorrectionState.NOT_CORRECTED):
        raise Conflict(
            "結果通知書は、訂正済み・訂正しないの決まった申出についてだけ印刷できます。", code="E_CORRECTION_OPEN"
        )
    with transaction.atomic():
        record, data = printing.print_document(
            kind=PrintKind.CORRECTION_NOTICE,
            file=correction.file,
            target_codes=[correction.juminhyo_code],
            reason=reason,
            title=NOTICE_TITLE,
            form_number=FORM_NUMBER,
            blocks=notice_blocks(correction),
            issuer=pdf.governor(),
            purpose=Purpose.CORRECTION.value,
        )
        access_log.log_event(
            action="correction.print",
            target_file=correction.file,
            target_code=correction.juminhyo_code,
            duty=Purpose.CORRECTION.value,
            detail=f"{correction.request_no}; 結果通知書; 印刷番号 {record.serial}",
        )
    return record, data
