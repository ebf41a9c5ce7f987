"""Receiving update notices from a 市町村CS: format checks, then the inbox, before the 202.

A notice is never lost: accepted notices are committed to the inbox before the answer;
sending the same ``notice_id`` again returns the first answer and changes nothing.
"""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.module_loading import import_string

from audit import access_log
from audit.models import MachineClient
from jukinet.crypto import get_keyring
from jukinet.models import InboxNotice, InboxState, NoticeFile
from jukinet.notice_rules import NOTICE_ID, NoticeRejected

MAX_NOTICES_PER_REQUEST = 1000
FORMAT_CHECKS = {
    NoticeFile.HONNIN: "honnin.rules.check_format",
    NoticeFile.FUHYO: "fuhyo.rules.check_format",
}


def inbox_my_number_context(file: str, notice_id: str) -> str:
    return f"inbox|{file}|{notice_id}"


@dataclass
class IntakeResult:
    accepted: list[dict]
    rejected: list[dict]


def _row_for(file: str, client: MachineClient, raw: dict, clean=None, error: NoticeRejected | None = None):
    receipt = str(uuid.uuid4())
    if clean is not None:
        sealed = None
        if clean.my_number:
            sealed = get_keyring().encrypt(clean.my_number, context=inbox_my_number_context(file, clean.notice_id))
        return InboxNotice(
            file=file,
            notice_id=clean.notice_id,
            receipt=receipt,
            client_id=client.client_id,
            municipality_code=client.municipality_code,
            juminhyo_code=clean.juminhyo_code,
            update_seq=clean.update_seq,
            change_reason=clean.change_reason,
            changed_on=clean.changed_on,
            record={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in clean.record.items()},
            my_number=sealed,
            operator_id=clean.operator_id,
            terminal_id=clean.terminal_id,
        )
    # Refused at the format check: keep the answer, not the content (it may hold anything).
    code = raw.get("juminhyo_code")
    return InboxNotice(
        file=file,
        notice_id=raw["notice_id"],
        receipt=receipt,
        client_id=client.client_id,
        municipality_code=client.municipality_code,
        juminhyo_code=code if isinstance(code, str) and code.isdigit() and len(code) == 11 else "",
        state=InboxState.REJECTED,
        error_code=error.code,
        error_message=error.message[:300],
        error_field=error.field[:40],
    )


def notices_receive(*, file: str, client: MachineClient, notices: list) -> IntakeResult:
    """Check each notice's format and commit the accepted ones to the inbox."""
    check_format = import_string(FORMAT_CHECKS[file])
    rows: dict[str, InboxNotice] = {}
    unkeyed: list[dict] = []
    for raw in notices:
        notice_id = raw.get("notice_id") if isinstance(raw, dict) else None
        if not isinstance(notice_id, str) or not NOTICE_ID.fullmatch(notice_id):
            unkeyed.append(
                {
                    "notice_id": notice_id if isinstance(notice_id, str) and len(notice_id) <= 64 else None,
                    "error": {
                        "code": "E_NOTICE_ID",
                        "message": "通知IDは半角英数字と - _ . : で64文字以内にしてください。",
                        "field": "notice_id",
                    },
                }
            )
            continue
        if notice_id in rows:
            continue  # the first occurrence in a request wins, as a resend would
        try:
            clean = check_format(raw, cs_municipality=client.municipality_code)
        except NoticeRejected as exc:
            rows[notice_id] = _row_for(file, client, raw, error=exc)
        else:
            rows[notice_id] = _row_for(file, client, raw, clean=clean)
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: a notice_id already in the inbox keeps its first answer.
        InboxNotice.objects.bulk_create(rows.values(), ignore_conflicts=True, batch_size=500)
        stored = {
            n.notice_id: n
            for n in InboxNotice.objects.filter(file=file, notice_id__in=list(rows)).only(
                "notice_id", "receipt", "state", "error_code", "error_message", "error_field", "decided_at", "client_id"
            )
        }
        accepted, rejected = [], list(unkeyed)
        for notice_id in rows:
            row = stored[notice_id]
            if row.client_id != client.client_id:
                # Another CS's notice id: answer as a refusal without revealing anything of it.
                rejected.append({"notice_id": notice_id, "error": _foreign_id_error()})
            elif row.state == InboxState.REJECTED and row.decided_at is None:
                rejected.append({"notice_id": notice_id, "error": row.error()})
            else:
                accepted.append({"notice_id": notice_id, "receipt": row.receipt})
        access_log.log_event(
            action="notice.receive",
            target_file=file,
            detail=f"受付{len(accepted)}件 エラー{len(rejected)}件",
        )
        if accepted:
            from jukinet.tasks import notices_apply, wake_on_commit

            wake_on_commit(notices_apply, file)
    return IntakeResult(accepted=accepted, rejected=rejected)


def _foreign_id_error() -> dict:
    message = "この通知IDは既に別の送信元で使われています。"
    return {"code": "E_NOTICE_ID_TAKEN", "message": message, "field": "notice_id"}


def notice_status(*, file: str, client: MachineClient, notice_id: str) -> dict | None:
    from jukinet.models import OutboxNotice, OutboxState

    notice = InboxNotice.objects.filter(file=file, notice_id=notice_id, client_id=client.client_id).first()
    if notice is None:
        return None
    forwarded = OutboxNotice.objects.filter(file=file, notice_id=notice_id, state=OutboxState.DONE).exists()
    return {"notice_id": notice.notice_id, "state": notice.state, "error": notice.error(), "forwarded": forwarded}
