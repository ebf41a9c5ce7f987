"""Staging a 市町村CS's full set: the request body, read in chunks, checked line by line, and
written with ``COPY`` into a table of the check's own (``consistency_stage_<id>``).

Memory stays bounded whatever the size: one chunk of the body (1 MiB), one line at most
:data:`MAX_LINE_BYTES`, and a buffer of COPY text are all this process holds. Nothing is
decided on a partial set: the check row and its staging table are written in the caller's
transaction, which a refusal rolls back, so a refused set leaves nothing behind.

Why a table per check and not one shared table: it is ``UNLOGGED`` (no WAL for rows that live
for a minute), has no index to maintain while it loads (the unique index on the code is built
once, after the load, and finds a duplicated code on the way), and ``DROP TABLE`` erases the
staged personal data at once and for good, where a ``DELETE`` would leave dead rows on disk
until a vacuum. A crash empties an unlogged table: the worker notices (the row count no longer
matches) and fails the check, asking the CS to send it again.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import call

from django.db import connection, transaction
from django.db.utils import IntegrityError

from jukinet.consistency_spec import BadCell, Column, FileSpec, converter
from jukinet.errors import DomainError, InvalidInput, PermissionRefused

READ_CHUNK = 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
COPY_BATCH = 4000
STAGE_PREFIX = "consistency_stage_"

# Anything below U+0020 except LF and the CR of a CRLF, and DEL: a CSV of names holds none.
_BAD_BYTES = re.compile(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
# C1 controls, line/paragraph separators, bidirectional overrides, BOM/ZWNBSP and noncharacters.
_BAD_TEXT = re.compile("[\x80-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_PLAIN_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class CsvRefused(InvalidInput):
    code = "E_CSV"
    message = "整合性確認のCSVを読み取れません。"


class CsvTooLarge(DomainError):
    code = "E_TOO_LARGE"
    status = 413
    message = "整合性確認のCSVが大きすぎます。"


class WrongMunicipality(PermissionRefused):
    code = "E_WRONG_MUNICIPALITY"
    message = "他の市町村の住民は送信できません。"


@dataclass
class Staged:
    rows: int
    bytes: int
    items: list[str]  # the compared items, from the header


def table_name(check_pk: int) -> str:
    return f"{STAGE_PREFIX}{int(check_pk)}"


# --- Reading the body ------------------------------------------------------------------------


def _line_at(block: bytes, offset: int, first_line: int) -> int:
    return first_line + block.count(b"\n", 0, offset)


_UTF8_BOM = b"\xef\xbb\xbf"


def _check_start(data: bytes) -> bytes:
    """The body's first bytes without a UTF-8 BOM (spreadsheet software on CS terminals writes
    one; it carries no data); UTF-16 is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvRefused("UTF-16のCSVは受け付けません。UTF-8で送ってください。", code="E_CSV_ENCODING")
    return data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data


def _block_lines(block: bytes, first_line: int) -> list[str]:
    """One block of whole lines: checked for control bytes and UTF-8, split into lines."""
    bad = _BAD_BYTES.search(block)
    if bad:
        line = _line_at(block, bad.start(), first_line)
        raise CsvRefused(f"{line}行目に制御文字（NULなど）が含まれています。", code="E_CSV_CONTROL")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(block, exc.start, first_line)
        raise CsvRefused(
            f"{line}行目がUTF-8として読めません（Shift_JISなど他の文字コードでは送れません）。",
            code="E_CSV_ENCODING",
        ) from None
    bad_text = _BAD_TEXT.search(text)
    if bad_text:
        line = first_line + text.count("\n", 0, bad_text.start())
        raise CsvRefused(f"{line}行目に使用できない制御文字が含まれています。", code="E_CSV_CONTROL")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def body_lines(read: Callable[[int], bytes], max_bytes: int, counter: list[int]) -> Iterator[str]:
    """The body as text lines (each with its "\\n"), refusing what is not a UTF-8 text file.

    ``counter[0]`` holds the bytes read so far. Lines are numbered from 1 by the caller's
    ``csv.reader`` (one string per physical line, so its ``line_num`` is the line number).
    """
    rest = b""
    line = 1
    started = False
    while True:
        chunk = read(READ_CHUNK)
        if chunk:
            counter[0] += len(chunk)
            if counter[0] > max_bytes:
                raise CsvTooLarge(f"整合性確認のCSVが大きすぎます（{max_bytes:,}バイトまで）。")
        data = rest + chunk if rest else chunk
        if not started and (len(data) >= 3 or not chunk):
            data = _check_start(data)
            started = True
        if chunk:
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if len(rest) > MAX_LINE_BYTES:
                long_line = line + block.count(b"\n")
                raise CsvRefused(
                    f"{long_line}行目が長すぎます（1行{MAX_LINE_BYTES // 1024}KBまで）。", code="E_CSV_ROW"
                )
        else:
            block, rest = data, b""
        if block:
            for text in _block_lines(block, line):
                yield text + "\n"
            line += block.count(b"\n")
        if not chunk:
            return


# --- Header and rows -------------------------------------------------------------------------


def _safe(name: str) -> str | None:
    return name if _PLAIN_NAME.fullmatch(name) else None


def read_header(spec: FileSpec, names: list[str]) -> list[Column]:
    if not names or names == [""]:
        raise CsvRefused("1行目に見出し行（列名）がありません。", code="E_CSV_HEADER")
    columns, seen = [], set()
    for name in names:
        if name in seen:
            raise CsvRefused(f"見出し行に同じ列名が2回あります（{_safe(name) or '?'}）。", code="E_CSV_HEADER",
                             field=_safe(name))  # fmt: skip
        seen.add(name)
        if name == "my_number" and spec.column(name) is None:
            raise CsvRefused(
                f"{spec.label}ファイルには個人番号の列を送れません。", code="E_MY_NUMBER_NOT_ALLOWED", field="my_number"
            )
        column = spec.column(name)
        if column is None:
            safe = _safe(name)
            raise CsvRefused(
                f"見出し行に使えない列名があります（{safe}）。" if safe else "見出し行に使えない列名があります。",
                code="E_CSV_HEADER",
                field=safe,
            )
        columns.append(column)
    missing = [name for name in spec.required if name not in seen]
    if missing:
        raise CsvRefused(
            f"見出し行に必要な列がありません（{', '.join(missing)}）。", code="E_CSV_HEADER", field=missing[0]
        )
    return columns


def _copy_sql(table: str, columns: list[Column]) -> str:
    names = ", ".join(["line", *(c.stage for c in columns)])
    return f"COPY {table} ({names}) FROM STDIN"  # names come from the file's spec


def create_table(cursor, spec: FileSpec, check_pk: int) -> str:
    table = table_name(check_pk)
    columns = ", ".join(f"{c.stage} {c.sql_type}" for c in spec.columns)
    # A table of this name could only be a leftover of a test database's reused ids.
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE UNLOGGED TABLE {table} (line integer NOT NULL, {columns})")
    return table


def load(
    *,
    spec: FileSpec,
    check_pk: int,
    read: Callable[[int], bytes],
    max_bytes: int,
    scope: frozenset[str],
    index: Callable[[str], bytes],
) -> Staged:
    """Create the staging table and COPY the body into it. Call inside a transaction."""
    counter = [0]
    reader = csv.reader(body_lines(read, max_bytes, counter), strict=True)
    with connection.cursor() as cursor:
        table = create_table(cursor, spec, check_pk)
        try:
            header = next(reader, None)
        except csv.Error:
            raise CsvRefused("1行目の見出し行を読み取れません。", code="E_CSV_HEADER") from None
        columns = read_header(spec, header or [])
        rows = _copy_rows(cursor, table, columns, reader, scope=scope, index=index, last=reader.line_num)
        if rows == 0:
            raise CsvRefused("見出し行のほかに行がありません。全件を送ってください。", code="E_CSV_NO_ROWS")
        _index(cursor, table)
    items = [c.name for c in columns if c.compared]
    return Staged(rows=rows, bytes=counter[0], items=items)


def _copy_rows(cursor, table: str, columns: list[Column], reader, *, scope, index, last: int) -> int:
    convert = [converter(c, scope=scope, index=index) for c in columns]
    width = len(columns)
    rows = 0
    buffer: list[str] = []
    with cursor.cursor.copy(_copy_sql(table, columns)) as copy:
        while True:
            try:
                fields = next(reader, None)
            except csv.Error:
                raise CsvRefused(
                    f"{reader.line_num}行目をCSVとして読み取れません（引用符の対応など）。", code="E_CSV_ROW"
                ) from None
            if fields is None:
                break
            line = reader.line_num
            if line != last + 1:
                raise CsvRefused(f"{line}行目: 値に改行を含めることはできません。", code="E_CSV_ROW")
            last = line
            if not fields:
                continue  # a blank line
            if len(fields) != width:
                raise CsvRefused(
                    f"{line}行目の列の数（{len(fields)}）が見出し行（{width}）と違います。", code="E_CSV_ROW"
                )
            try:
                buffer.append(f"{line}\t" + "\t".join(map(call, convert, fields)))
            except BadCell as exc:
                error = WrongMunicipality if exc.refusal else CsvRefused
                raise error(f"{line}行目: {exc.reason}", code=None if exc.refusal else "E_CSV_VALUE",
                            field=exc.column.name) from None  # fmt: skip
            rows += 1
            if len(buffer) >= COPY_BATCH:
                copy.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            copy.write("\n".join(buffer) + "\n")
    return rows


def _index(cursor, table: str) -> None:
    """The unique index the comparison joins on; a duplicated 住民票コード is refused here."""
    try:
        with transaction.atomic():
            cursor.execute(f"CREATE UNIQUE INDEX {table}_code ON {table} (juminhyo_code)")
    except IntegrityError:
        # The second row of the first duplicated code (only the line is named, never the code).
        sql = "SELECT min(line) FROM (SELECT line, row_number() OVER (PARTITION BY juminhyo_code ORDER BY line) AS n"
        cursor.execute(sql + f" FROM {table}) AS t WHERE n = 2")
        line = cursor.fetchone()[0]
        raise CsvRefused(
            f"{line}行目: 住民票コードが前の行と重複しています。", code="E_CSV_DUPLICATE_CODE", field="juminhyo_code"
        ) from None
    cursor.execute(f"ANALYZE {table}")


# --- The table's life ------------------------------------------------------------------------


def stage_rows(check_pk: int) -> int | None:
    """Rows in the staging table, or None when it does not exist."""
    table = table_name(check_pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - an integer-derived name
        return cursor.fetchone()[0]


def drop(check_pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table_name(check_pk)}")


def orphaned_tables() -> list[int]:
    """Check ids of staging tables whose check no longer needs them (done, failed or gone).

    One statement, one snapshot: a table being loaded is not visible to it yet, and the check of
    a committed table is committed with it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT substring(c.relname FROM %s)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
            "WHERE c.relkind = 'r' AND c.relname ~ %s AND NOT EXISTS ("
            " SELECT 1 FROM jukinet_consistencycheck k"
            " WHERE k.id = substring(c.relname FROM %s)::bigint AND k.state IN ('received', 'comparing'))",
            [f"^{STAGE_PREFIX}([0-9]+)$", f"^{STAGE_PREFIX}[0-9]+$", f"^{STAGE_PREFIX}([0-9]+)$"],
        )
        return [row[0] for row in cursor.fetchall()]
