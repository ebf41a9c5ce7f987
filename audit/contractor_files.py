"""Files for contractors (委託先): sealed like backups, so the contractor carries them but cannot read them.

A contractor doing update or consistency work for the prefecture receives a file it stores and
hands on; it is sealed with the backup public key (jukinet.envelope), whose private half the
セキュリティ管理者 keeps (docs/backups.md). Each file is a register entry of kind ``contractor``
with its recipient, and an access-log entry.

``seal_for_contractor`` seals any lines (other producers, e.g. the differences of a consistency
check, reuse it); ``contractor_file_create`` writes the current set of one file for one
municipality in the consistency-check CSV format (API.md §2: ``juminhyo_code`` + the notice
``record`` items of that file; for honnin the 個人番号 in clear, decrypted through
honnin.selectors, because update and consistency work needs it).

audit is the lowest app: honnin and fuhyo are imported inside the functions that need them.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction

from audit.backups import _clean_text, new_file_name, register_sealed_file, seal_to_file
from audit.models import BackupRecord, Operator, StoredFileKind
from audit.permissions import ensure_permitted
from jukinet.errors import InvalidInput

PIECE_BYTES = 1 << 20
FETCH_ROWS = 2000

# The consistency-check CSV columns of each file (API.md §2; docs/notice-rules.md lists the items).
COLUMNS: dict[str, tuple[str, ...]] = {
    "honnin": (
        "juminhyo_code", "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address",
        "address_gaiji_count", "my_number", "municipality_code", "oaza_code", "name_gaiji_seq",
        "address_gaiji_seq", "former_surname", "former_surname_gaiji_count", "former_surname_kana",
        "former_surname_gaiji_seq", "former_juminhyo_code",
    ),
    "fuhyo": (
        "juminhyo_code", "name", "name_gaiji_count", "name_kana", "birth_date", "sex",
        "address_municipality_code", "address", "address_gaiji_count", "last_address",
        "last_address_gaiji_count", "managing_municipality_code", "former_juminhyo_code",
    ),
}  # fmt: skip
FILE_LABELS = {"honnin": "本人確認情報", "fuhyo": "附票本人確認情報"}


class _Line:
    """csv.writer target that hands back each formatted line."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])


def _encoded(lines: Iterable[str], counter: list[int]) -> Iterator[bytes]:
    """UTF-8 pieces of about PIECE_BYTES; ``counter[0]`` ends as the number of lines."""
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode("utf-8")
        buffer.append(data)
        size += len(data)
        counter[0] += 1
        if size >= PIECE_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def seal_for_contractor(
    *,
    lines: Iterable[str],
    scope: str,
    recipient: str,
    created_by: str,
    note: str = "",
    name_hint: str = "",
    target_file: str = "",
) -> BackupRecord:
    """Seal ``lines`` (each ending in a newline, a header first) for a contractor; register and log it.

    ``scope`` says what the file holds without personal data (e.g. "本人確認情報 112011 現存者");
    the log entry gives the number of data lines.
    """
    recipient = _clean_text(recipient, limit=100, label="提供先（委託先）", field="recipient")
    if not recipient:
        raise InvalidInput(
            "提供先（委託先）の名称を指定してください。", code="E_CONTRACTOR_RECIPIENT", field="recipient"
        )
    scope = _clean_text(scope, limit=200, label="内容", field="scope")
    note = _clean_text(note, limit=300, label="備考", field="note")
    hint = "".join(ch for ch in name_hint if ch.isascii() and (ch.isalnum() or ch == "-"))[:40]
    file_name = new_file_name(f"contractor-{hint}" if hint else "contractor", ".csv")
    directory = Path(settings.CONTRACTOR_FILE_DIR)
    counter = [0]
    written = seal_to_file(_encoded(lines, counter), directory=directory, file_name=file_name)
    rows = max(counter[0] - 1, 0)
    return register_sealed_file(
        kind=StoredFileKind.CONTRACTOR,
        path=directory / file_name,
        written=written,
        scope=scope,
        recipient=recipient,
        created_by=created_by,
        note=note,
        action="contractor_file.create",
        target_file=target_file,
        detail=f"{scope} {rows}件 委託先: {recipient} {file_name}",
    )


# --- The current set of one file for one municipality -----------------------------------------------


def _honnin_rows(municipality_code: str) -> Iterator[list]:
    # Imported here: audit is the lowest app (docs/architecture.md); honnin reads its own rows and
    # is the only one that opens a 個人番号.
    from honnin import selectors as honnin_selectors
    from honnin.models import Resident

    columns = COLUMNS["honnin"]
    fetched = [c for c in columns if c != "my_number"]
    rows = (
        Resident.objects.filter(municipality_code=municipality_code, deleted=False)
        .order_by("juminhyo_code")
        .values_list(*fetched, "my_number", named=True)
    )
    for row in rows.iterator(chunk_size=FETCH_ROWS):  # a server-side cursor: bounded memory
        values = row._asdict()
        # The row has the two attributes the selector reads (juminhyo_code, my_number).
        values["my_number"] = honnin_selectors.resident_my_number(resident=row)
        yield [values[c] for c in columns]


def _fuhyo_rows(municipality_code: str) -> Iterator[tuple]:
    from fuhyo.models import FuhyoRecord, FuhyoStatus  # audit is the lowest app: see above

    rows = (
        FuhyoRecord.objects.filter(managing_municipality_code=municipality_code, status=FuhyoStatus.CURRENT)
        .order_by("juminhyo_code")
        .values_list(*COLUMNS["fuhyo"])
    )
    yield from rows.iterator(chunk_size=FETCH_ROWS)


def contractor_file_create(
    *, file: str, municipality_code: str, recipient: str, operator: Operator | None = None, note: str = ""
) -> BackupRecord:
    """Seal the current rows (消除者 excluded) of ``file`` for one municipality, for a contractor."""
    from jukinet.codes import CodeError, validate_lg_code
    from jukinet.selectors_notices import municipality_names

    if operator is not None:
        ensure_permitted(operator, "backup.copy")
    if file not in COLUMNS:
        raise InvalidInput("ファイルは honnin か fuhyo を指定してください。", code="E_CONTRACTOR_FILE", field="file")
    try:
        code = validate_lg_code(municipality_code)
    except CodeError:
        raise InvalidInput(
            "市町村コードは検査数字を含む6桁で指定してください。",
            code="E_CONTRACTOR_MUNICIPALITY",
            field="municipality",
        ) from None
    if code not in municipality_names():
        raise InvalidInput(
            "この都道府県の市町村コードではありません。", code="E_CONTRACTOR_MUNICIPALITY", field="municipality"
        )
    rows = _honnin_rows(code) if file == "honnin" else _fuhyo_rows(code)
    scope = f"{FILE_LABELS[file]} {code} 現存者（整合性確認の形式{'、個人番号を含む' if file == 'honnin' else ''}）"
    # One snapshot for the whole file; the register entry commits with it.
    with transaction.atomic():
        return seal_for_contractor(
            lines=csv_lines(COLUMNS[file], rows),
            scope=scope,
            recipient=recipient,
            created_by=operator.login_id if operator else "system",
            note=note,
            name_hint=f"{file}-{code}",
            target_file=file,
        )
