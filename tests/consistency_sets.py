"""Consistency-check sets (整合性確認) for tests: CSV lines built from rows of the files, the way
a 市町村CS would send its own copy, with whatever a test wants changed."""

from __future__ import annotations

from fuhyo.consistency import SPEC as FUHYO_SPEC
from fuhyo.models import FuhyoRecord
from honnin.consistency import SPEC as HONNIN_SPEC
from honnin.models import Resident
from jukinet.consistency_spec import MY_NUMBER

HONNIN_COLUMNS = [c.name for c in HONNIN_SPEC.columns]
FUHYO_COLUMNS = [c.name for c in FUHYO_SPEC.columns]
HONNIN_REQUIRED = list(HONNIN_SPEC.required)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def honnin_row(resident: Resident, my_number: str | None, columns=HONNIN_COLUMNS, **changes) -> dict:
    row = {}
    for name in columns:
        column = HONNIN_SPEC.column(name)
        row[name] = (my_number or "") if column.kind == MY_NUMBER else _cell(getattr(resident, name))
    row.update(changes)
    return row


def fuhyo_row(record: FuhyoRecord, columns=FUHYO_COLUMNS, **changes) -> dict:
    row = {name: _cell(getattr(record, name)) for name in columns}
    row.update(changes)
    return row


def csv_body(rows: list[dict], columns: list[str]) -> bytes:
    """UTF-8, CRLF; a cell holding a comma or a quote is quoted as a CS's CSV writer would."""

    def quote(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"') else value

    lines = [",".join(columns)] + [",".join(quote(row[c]) for c in columns) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
