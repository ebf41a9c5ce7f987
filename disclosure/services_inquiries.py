"""問合せ: every inquiry received is logged with its answer and who gave it (DESIGN.md §4.4).

``inquiry_register`` records what was asked (and the answer, when it is given at once);
``inquiry_answer`` records the answer later. The answerer is always the operator who enters it.
An answer once given is never edited (the service refuses, and a trigger of migration 0002 too):
a further question, or a correction of what was said, is a new inquiry that points to the
earlier one (``follows``), so the log shows what was actually said and when.

Both need ``inquiry.log`` (開示窓口担当 and 業務担当者). No record is read: an inquiry may name a
住民票コード (checked for its form and check digit only). Log details carry the number, channel
and inquirer kind: never a name, the question or the answer.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit import access_log
from audit.models import Operator
from audit.permissions import ensure_permitted
from disclosure import desk_input
from disclosure.models import InquirerKind, Inquiry, InquiryChannel
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from jukinet.purposes import Purpose

ACTION = "inquiry.log"
NUMBER_PREFIX = "問"
SUBJECT_MAX_LENGTH = 1000
ANSWER_MAX_LENGTH = 2000

__all__ = ["inquiry_answer", "inquiry_register"]


def _ensure(operator: Operator, *, log_action: str, target: str = "") -> None:
    try:
        ensure_permitted(operator, ACTION)
    except PermissionRefused as exc:
        access_log.log_refusal(action=log_action, target_code=target, detail=exc.code)
        raise


def _answer_text(answer: object, *, required: bool) -> str:
    return desk_input.text(
        answer, field="answer", label="回答", max_length=ANSWER_MAX_LENGTH, required=required, multiline=True
    )


def _received_at(value: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if value is None:
        return now
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise InvalidInput("受付日時を入力してください。", code="E_DATE", field="received_at")
    if value > now + dt.timedelta(minutes=1):  # a terminal's clock a little ahead is not a future inquiry
        raise InvalidInput("受付日時に未来の日時は指定できません。", code="E_DATE_FUTURE", field="received_at")
    if timezone.localdate(value) < desk_input.EARLIEST_DATE:
        raise InvalidInput("受付日時は2000年1月1日以降にしてください。", code="E_DATE_TOO_EARLY", field="received_at")
    return min(value, now)


def _earlier(follows_no: object) -> Inquiry | None:
    number = desk_input.text(
        follows_no, field="follows_no", label="前の問合せの受付番号", max_length=20, required=False
    )
    if not number:
        return None
    earlier = Inquiry.objects.filter(inquiry_no=number).first()
    if earlier is None:
        raise InvalidInput("この受付番号の問合せはありません。", code="E_INQUIRY_NOT_FOUND", field="follows_no")
    return earlier


def inquiry_register(
    *,
    operator: Operator,
    channel: str,
    inquirer_kind: str,
    inquirer_name: str = "",
    file: str = "",
    juminhyo_code: str = "",
    subject: str,
    answer: str = "",
    received_at: dt.datetime | None = None,
    follows_no: str = "",
) -> Inquiry:
    """Log an inquiry as received (``received_at`` defaults to now), answered at once when
    ``answer`` is given."""
    _ensure(operator, log_action="inquiry.register")
    channel = desk_input.choice(channel, field="channel", label="受付方法", choices=InquiryChannel.values)
    inquirer_kind = desk_input.choice(
        inquirer_kind, field="inquirer_kind", label="問合せ者の区分", choices=InquirerKind.values
    )
    inquirer_name = desk_input.text(
        inquirer_name, field="inquirer_name", label="問合せ者", max_length=120, required=False
    )
    file = desk_input.file_key(file) if file else ""
    code = desk_input.juminhyo_code(juminhyo_code, required=False)
    if code and not file:
        raise InvalidInput(
            "住民票コードを記録するときは、ファイルも選んでください。", code="E_FILE_REQUIRED", field="file"
        )
    subject = desk_input.text(
        subject, field="subject", label="問合せ内容", max_length=SUBJECT_MAX_LENGTH, required=True, multiline=True
    )
    answer = _answer_text(answer, required=False)
    received_at = _received_at(received_at)
    earlier = _earlier(follows_no)
    with transaction.atomic():
        now = timezone.now()
        inquiry = Inquiry.objects.create(
            inquiry_no=desk_input.next_number(table=Inquiry._meta.db_table, column="inquiry_no", prefix=NUMBER_PREFIX),
            received_at=received_at,
            received_by=operator.login_id,
            channel=channel,
            inquirer_kind=inquirer_kind,
            inquirer_name=inquirer_name,
            file=file,
            juminhyo_code=code,
            subject=subject,
            answer=answer,
            answered_by=operator.login_id if answer else "",
            answered_at=now if answer else None,
            follows=earlier,
        )
        access_log.log_event(
            action="inquiry.register",
            target_file=file,
            target_code=code,
            duty=Purpose.INQUIRY.value,
            detail="; ".join(
                [inquiry.inquiry_no, inquiry.get_channel_display(), inquiry.get_inquirer_kind_display()]
                + (["即時回答"] if answer else [])
                + ([f"前の問合せ {earlier.inquiry_no}"] if earlier else [])
            ),
        )
    return inquiry


def inquiry_answer(*, operator: Operator, inquiry_id: int, answer: str) -> Inquiry:
    """Record the answer to an unanswered inquiry; the operator is the answerer."""
    _ensure(operator, log_action="inquiry.answer", target=f"inquiry:{inquiry_id}")
    answer = _answer_text(answer, required=True)
    with transaction.atomic():
        # Locked: two answers typed at once for the same inquiry must not both pass the check.
        inquiry = Inquiry.objects.select_for_update().filter(pk=inquiry_id).first()
        if inquiry is None:
            raise NotFound("問合せが見つかりません。", code="E_INQUIRY_NOT_FOUND")
        if inquiry.answer:
            raise Conflict(
                "この問合せには回答済みです。回答は変更できません。補足や訂正は新しい問合せとして記録し、"
                "「前の問合せ」にこの受付番号を入力してください。",
                code="E_INQUIRY_ANSWERED",
            )
        inquiry.answer = answer
        inquiry.answered_by = operator.login_id
        inquiry.answered_at = timezone.now()
        inquiry.save(update_fields=["answer", "answered_by", "answered_at"])
        access_log.log_event(
            action="inquiry.answer",
            target_file=inquiry.file,
            target_code=inquiry.juminhyo_code,
            duty=Purpose.INQUIRY.value,
            detail=inquiry.inquiry_no,
        )
    return inquiry
