"""Printing: every sheet of personal data comes from a PDF the server renders, and is recorded.

``print_document`` is the one way to print (issue 5; later the disclosure forms of issue 7).
It checks the reason, reserves the print serial, renders the PDF with the serial in every
footer, and in the same transaction writes the print ledger row (who, from which terminal,
which records, why, how many pages) and the access-log entry. Paper found on a desk can so be
traced from the serial in its footer to one ledger row. The ledger is append-only
(jukinet/migrations/0003_print_record_append_only.py); docs/printing.md says more.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import access_log, context
from jukinet.errors import PermissionRefused
from jukinet.models import NoticeFile, PrintKind, PrintRecord
from jukinet.pdf import Block, render_pdf
from jukinet.text_input import REASON_MAX, clean_line

__all__ = ["REASON_MAX_LENGTH", "clean_reason", "print_document", "print_records"]

REASON_MAX_LENGTH = REASON_MAX
_CODE = re.compile(r"[0-9]{11}")
_PURPOSE = re.compile(r"[a-z_]{0,40}")


def clean_reason(reason: object) -> str:
    """The reason for a print: required, at most 200 characters, one line of visible text."""
    return clean_line(reason, label="印刷の理由", field="reason", limit=REASON_MAX_LENGTH, code="E_PRINT_REASON")


def _reserve_id() -> int:
    """The next id of the ledger table, taken before rendering so the serial is on every page.

    A sequence is not transactional: a print that fails after this leaves a gap in the serials,
    and no paper (docs/printing.md).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [PrintRecord._meta.db_table])
        return cursor.fetchone()[0]


def print_document(
    *,
    kind: str,
    file: str,
    target_codes: Sequence[str],
    reason: str,
    title: str,
    form_number: str,
    blocks: Sequence[Block],
    issuer: str | None = None,
    purpose: str = "",
) -> tuple[PrintRecord, bytes]:
    """Render a PDF, record the print, log it; return the ledger row and the PDF bytes.

    The caller has checked that the operator may see and print these records; this records
    the print. ``purpose`` (a jukinet.purposes.Purpose value) goes to the ledger and to the
    access log's duty, which is ``kind`` when no purpose is named. Raises InvalidInput
    (E_PRINT_REASON) for a missing or unusable reason, before anything is written, and
    jukinet.pdf.PdfConfigurationError when the server has no font to print with.
    """
    reason = clean_reason(reason)
    if kind not in PrintKind.values:
        raise ValueError(f"unknown print kind: {kind!r}")
    if file not in (*NoticeFile.values, ""):
        raise ValueError(f"unknown file: {file!r}")
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("purpose must be a jukinet.purposes.Purpose value")
    codes = list(dict.fromkeys(target_codes))  # in order, each record once
    if not all(isinstance(code, str) and _CODE.fullmatch(code) for code in codes):
        raise ValueError("target_codes must be 11-digit 住民票コード")
    actor = context.current()
    if not actor.actor:
        # A sheet nobody can be asked about is exactly what the ledger exists to prevent.
        raise PermissionRefused("印刷する職員を特定できないため印刷できません。")

    with transaction.atomic():
        record_id = _reserve_id()
        printed_at = timezone.now()
        serial = f"P{timezone.localtime(printed_at).year}-{record_id:07d}"
        result = render_pdf(
            title=title,
            form_number=form_number,
            serial=serial,
            blocks=blocks,
            issuer=issuer,
            issued_on=timezone.localdate(printed_at) if issuer else None,
        )
        record = PrintRecord.objects.create(
            id=record_id,
            serial=serial,
            printed_at=printed_at,
            actor=actor.actor[:40],
            terminal=actor.terminal[:32],
            kind=kind,
            file=file,
            target_codes=codes,
            record_count=len(codes),
            purpose=purpose,
            reason=reason,
            pages=result.pages,
            gaiji_marked=result.gaiji_marked,
        )
        # Serial, pages and counts only: never a name, an item of the record or the reason text.
        access_log.log_event(
            action="record.print",
            target_file=file,
            target_code=codes[0] if codes else "",
            duty=purpose or kind,
            detail=f"印刷番号 {serial}; {result.pages}ページ; {len(codes)}件; 〓 {result.gaiji_marked}字",
        )
    return record, result.data


def print_records(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None, actor: str = ""
) -> QuerySet[PrintRecord]:
    """The ledger, newest first: prints at or after ``since`` and before ``until``, by ``actor``."""
    # The list never needs the codes themselves (a result list may carry hundreds).
    records = PrintRecord.objects.defer("target_codes")
    if since is not None:
        records = records.filter(printed_at__gte=since)
    if until is not None:
        records = records.filter(printed_at__lt=until)
    if actor:
        records = records.filter(actor=actor)
    return records.order_by("-printed_at", "-id")
