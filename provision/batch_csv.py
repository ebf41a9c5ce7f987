"""The files of a batch provision (一括提供): the conditions CSV in, the result CSV and its archive out.

Conditions (docs/batch-provision.md): UTF-8 (with or without BOM) or Shift_JIS (cp932, as
Excel writes it), a header row of known column names, one condition per row, each row using
one kind of key (住民票コード, 個人番号 or 4情報). The file as a whole is checked at submission
(:func:`read_conditions`): not text, an unknown encoding, no header, unknown columns, no rows or
too many → a refusal with a code and a Japanese message, and nothing is stored. A row that
cannot be read is not a refusal of the file: :func:`parse_row` returns a :class:`RowError` that
the run reports on that row of the result.

Result: one line per input row, UTF-8 with BOM and CRLF so that Excel opens it as it is; every
cell that a spreadsheet would take for a formula is prefixed with ``'`` (CSV injection).
The CSV travels only inside an AES-256 ZIP (WinZip AE-2, which 7-Zip opens) under a random
password.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pyzipper

from jukinet.codes import CodeError, validate_juminhyo_code, validate_my_number
from jukinet.errors import DomainError, InvalidInput
from jukinet.four_info import address_prefix, kanji_name_variants
from jukinet.kana import seion_key
from jukinet.wareki import BirthDateError, parse_birth_date

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000

KEY_COLUMNS = ("juminhyo_code", "my_number")
FOUR_INFO_COLUMNS = ("name_kana", "name", "birth_date", "sex", "address")
COLUMNS = ("row_id", *KEY_COLUMNS, *FOUR_INFO_COLUMNS)
COLUMN_LABELS = {
    "row_id": "行ID（依頼元の整理番号）",
    "juminhyo_code": "住民票コード",
    "my_number": "個人番号",
    "name_kana": "氏名（かな）",
    "name": "氏名（漢字）",
    "birth_date": "生年月日",
    "sex": "性別",
    "address": "住所",
}
ROW_ID_MAX = 40
NAME_MAX = 60
ADDRESS_MAX = 120

# Anything below U+0020 except TAB, LF and CR, and DEL: a text file holds none of them.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_KANA_KEY = re.compile(r"[ァ-ヶヽ]+")
_CHARSETS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
}


class BatchFileError(InvalidInput):
    code = "E_BATCH_FILE"
    message = "検索条件ファイルを読み取れません。"


class BatchFileTooLarge(DomainError):
    code = "E_BATCH_TOO_LARGE"
    status = 413
    message = (
        f"検索条件ファイルが大きすぎます（{MAX_BYTES // (1024 * 1024)}MBまで）。ファイルを分けて依頼してください。"
    )


class BatchTooManyRows(DomainError):
    code = "E_BATCH_TOO_MANY_ROWS"
    status = 413
    message = f"検索条件が多すぎます（1回{MAX_ROWS:,}行まで）。ファイルを分けて依頼してください。"


@dataclass(frozen=True)
class ConditionsFile:
    text: str  # decoded, without BOM: what is stored (encrypted)
    columns: tuple[str, ...]
    row_count: int
    encoding: str  # "utf-8" or "cp932", for the log


# --- Reading the conditions ------------------------------------------------------------------


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_conditions(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """Bytes → text. UTF-8 first; Shift_JIS (cp932) when the bytes are not UTF-8 at all."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BatchFileError(
            "UTF-16（Unicodeテキスト）のファイルは受け付けていません。"
            "Excelでは「CSV UTF-8（コンマ区切り）」または「CSV（コンマ区切り）」で保存してください。",
            code="E_BATCH_ENCODING",
        )
    binary = _BINARY.search(data)
    if binary:
        raise BatchFileError(
            f"CSVファイルではありません（{_line_of(data, binary.start())}行目に制御文字・バイナリが含まれています）。",
            code="E_BATCH_NOT_CSV",
        )
    if charset:
        codec = _CHARSETS.get(charset.strip().strip('"').lower())
        if codec is None:
            raise BatchFileError(
                "文字コードは UTF-8 または Shift_JIS を指定してください。", code="E_BATCH_ENCODING", field="charset"
            )
        try:
            return data.decode(codec), "utf-8" if codec == "utf-8-sig" else "cp932"
        except UnicodeDecodeError as exc:
            raise BatchFileError(
                f"{_line_of(data, exc.start)}行目が指定の文字コード（{charset}）として読めません。",
                code="E_BATCH_ENCODING",
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # A Shift_JIS file read as UTF-8 is nearly all errors; a UTF-8 file with a few broken bytes
    # is nearly all valid. The second must be refused, not read as Shift_JIS into mojibake.
    loose = data.decode("utf-8", errors="replace")
    broken = loose.count("\ufffd")
    valid_non_ascii = len(loose) - len(loose.encode("ascii", errors="ignore")) - broken
    if valid_non_ascii > broken:
        raise BatchFileError(
            f"UTF-8として正しくない文字があります（{_line_of(data, first_bad)}行目）。"
            "ファイルが壊れていないか確認してください。",
            code="E_BATCH_ENCODING",
        )
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            f"文字コードを判別できません（{_line_of(data, exc.start)}行目）。"
            "UTF-8 または Shift_JIS で保存してください。",
            code="E_BATCH_ENCODING",
        ) from None


def _reader(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), strict=False)


def _header(row: list[str]) -> tuple[str, ...]:
    columns = tuple(name.strip().lower() for name in row)
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        shown = "、".join(repr(name[:30]) for name in unknown[:3])
        raise BatchFileError(
            f"見出し行に使えない列名があります（{shown}）。使える列名: {','.join(COLUMNS)}",
            code="E_BATCH_UNKNOWN_COLUMN",
        )
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        raise BatchFileError(
            f"見出し行に同じ列名が2回あります（{'、'.join(duplicated)}）。", code="E_BATCH_DUPLICATE_COLUMN"
        )
    if not any(name in columns for name in (*KEY_COLUMNS, "name_kana", "name")):
        raise BatchFileError(
            "見出し行に照会キーの列（juminhyo_code、my_number、または name_kana・name と birth_date）がありません。",
            code="E_BATCH_NO_KEY_COLUMN",
        )
    return columns


def read_conditions(data: bytes, charset: str | None = None) -> ConditionsFile:
    """Check a whole conditions file; raise BatchFileError (400) or a 413 error, store nothing."""
    if len(data) > MAX_BYTES:
        raise BatchFileTooLarge()
    if not data.strip():
        raise BatchFileError("検索条件ファイルが空です。", code="E_BATCH_EMPTY")
    text, encoding = decode_conditions(data, charset)
    rows = _reader(text)
    count = 0
    try:
        header = next((row for row in rows if row), None)
        if header is None:
            raise BatchFileError("検索条件ファイルが空です。", code="E_BATCH_EMPTY")
        columns = _header(header)
        for row in rows:
            if row:
                count += 1
                if count > MAX_ROWS:
                    raise BatchTooManyRows()
    except csv.Error:
        raise BatchFileError(f"{count + 2}行目付近をCSVとして読み取れません。", code="E_BATCH_NOT_CSV") from None
    if count == 0:
        raise BatchFileError("見出し行のほかに検索条件の行がありません。", code="E_BATCH_NO_ROWS")
    return ConditionsFile(text=text, columns=columns, row_count=count, encoding=encoding)


def iter_rows(text: str, *, start: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(row number from 1, fields) of each data row; blank lines are not rows (as when counted)."""
    rows = _reader(text)
    number = 0
    header_seen = False
    for row in rows:
        if not row:
            continue
        if not header_seen:
            header_seen = True
            continue
        number += 1
        if number > start:
            yield number, row


def header_of(text: str) -> tuple[str, ...]:
    return _header(next(row for row in _reader(text) if row))


# --- One row ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowCondition:
    row_number: int
    row_id: str
    by: str  # juminhyo_code / my_number / four_info
    juminhyo_code: str = ""
    my_number: str = ""
    kana_key: str = ""
    kanji_names: tuple[str, ...] = ()
    birth_date: object = None  # datetime.date
    sex: str = ""
    address: str = ""


@dataclass(frozen=True)
class RowError:
    row_number: int
    row_id: str
    code: str
    message: str
    by: str = ""


def _text(value: str, label: str, limit: int, row_number: int, row_id: str) -> str | RowError:
    value = value.strip()
    if len(value) > limit:
        return RowError(row_number, row_id, "E_ROW_TOO_LONG", f"{label}が長すぎます（{limit}文字まで）。")
    if _CONTROL.search(value):
        return RowError(row_number, row_id, "E_ROW_CONTROL_CHAR", f"{label}に使えない制御文字が含まれています。")
    return value


def parse_row(
    columns: tuple[str, ...], row_number: int, fields: list[str], *, file: str, prefecture: str = ""
) -> RowCondition | RowError:
    """One data row → a condition to look up, or the reason it cannot be looked up."""
    raw_id = (
        fields[columns.index("row_id")].strip() if "row_id" in columns and len(fields) > columns.index("row_id") else ""
    )
    row_id = raw_id if len(raw_id) <= ROW_ID_MAX and not _CONTROL.search(raw_id) else ""
    if raw_id and not row_id:
        return RowError(
            row_number, "", "E_ROW_ROW_ID", f"row_id は制御文字を含まない{ROW_ID_MAX}文字以内にしてください。"
        )
    if len(fields) != len(columns):
        return RowError(
            row_number, row_id, "E_ROW_FIELDS", f"列の数（{len(fields)}）が見出し行（{len(columns)}）と一致しません。"
        )
    values = dict(zip(columns, fields, strict=True))
    code = values.get("juminhyo_code", "").strip()
    number = values.get("my_number", "").strip()
    four = {name: values.get(name, "").strip() for name in FOUR_INFO_COLUMNS}
    kinds = [
        name
        for name, given in (("juminhyo_code", code), ("my_number", number), ("four_info", any(four.values())))
        if given
    ]
    if not kinds:
        return RowError(
            row_number, row_id, "E_ROW_NO_KEY", "住民票コード・個人番号・4情報のいずれも指定されていません。"
        )
    if len(kinds) > 1:
        return RowError(
            row_number,
            row_id,
            "E_ROW_MIXED_KEYS",
            "1行に複数の種類の照会キーがあります。住民票コード・個人番号・4情報のいずれか1つにしてください。",
        )
    by = kinds[0]
    if by == "juminhyo_code":
        try:
            return RowCondition(row_number, row_id, by, juminhyo_code=validate_juminhyo_code(code))
        except CodeError as exc:
            return RowError(row_number, row_id, exc.code, exc.message, by)
    if by == "my_number":
        if file != "honnin":
            return RowError(
                row_number, row_id, "E_ROW_MY_NUMBER_FUHYO", "附票本人確認情報は個人番号で照会できません。", by
            )
        try:
            return RowCondition(row_number, row_id, by, my_number=validate_my_number(number))
        except CodeError as exc:
            return RowError(row_number, row_id, exc.code, exc.message, by)
    return _four_info(row_number, row_id, four, file=file, prefecture=prefecture)


def _four_info(
    row_number: int, row_id: str, four: dict[str, str], *, file: str, prefecture: str
) -> RowCondition | RowError:
    by = "four_info"
    checked = {}
    for name, limit in (("name_kana", NAME_MAX), ("name", NAME_MAX), ("address", ADDRESS_MAX), ("birth_date", 20)):
        value = _text(four[name], COLUMN_LABELS[name], limit, row_number, row_id)
        if isinstance(value, RowError):
            return RowError(value.row_number, value.row_id, value.code, value.message, by)
        checked[name] = value
    if not checked["birth_date"] or not (checked["name_kana"] or checked["name"]):
        return RowError(
            row_number, row_id, "E_ROW_FOUR_INFO", "4情報での照会には生年月日と氏名（漢字またはかな）が必要です。", by
        )
    try:
        birth = parse_birth_date(checked["birth_date"])
    except BirthDateError as exc:
        return RowError(row_number, row_id, "E_ROW_BIRTH_DATE", exc.message, by)
    if birth.start != birth.end:
        return RowError(
            row_number, row_id, "E_ROW_BIRTH_DATE", "生年月日は年月日まで指定してください（例: 1985-03-01）。", by
        )
    kana_key = seion_key(checked["name_kana"]) if checked["name_kana"] else ""
    if checked["name_kana"] and not _KANA_KEY.fullmatch(kana_key):
        return RowError(row_number, row_id, "E_ROW_KANA", "氏名（かな）はひらがな・カタカナで指定してください。", by)
    sex = {"": "", "1": "1", "2": "2", "男": "1", "女": "2"}.get(four["sex"])
    if sex is None:
        return RowError(row_number, row_id, "E_ROW_SEX", "性別は 1（男）または 2（女）で指定してください。", by)
    address = address_prefix(checked["address"], prefecture=prefecture) if checked["address"] else ""
    return RowCondition(
        row_number,
        row_id,
        by,
        kana_key=kana_key,
        kanji_names=kanji_name_variants(checked["name"]) if checked["name"] else (),
        birth_date=birth.start,
        sex=sex,
        address=address,
    )


# --- The result ------------------------------------------------------------------------------

RESULT_BASE_COLUMNS = ("row_number", "row_id", "outcome", "error_code", "error_message")
OUTCOME_LABELS = {"provided": "提供", "not_found": "該当なし", "failed": "エラー"}
# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (full-width forms too: Japanese Excel converts them on entry).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def result_columns(items: list[str], with_my_number: bool) -> list[str]:
    return [*RESULT_BASE_COLUMNS, *items, *(["my_number"] if with_my_number else [])]


class ResultWriter:
    """Writes the result CSV in memory (a 100,000-row result is some 20 MB)."""

    def __init__(self, columns: list[str]):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.writer.writerow(columns)
        self.rows = 0

    def write(self, values: list[object]) -> None:
        self.writer.writerow([neutralise(v) for v in values])
        self.rows += 1

    def getvalue(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8-sig")  # BOM: Excel then reads UTF-8


# --- The archive -----------------------------------------------------------------------------

# No 0/O/o, 1/l/I, and no symbols a keyboard layout or a reader over the phone gets wrong.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet
PASSWORD_LENGTH = 20  # about 116 bits


def make_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def encrypt_zip(content: bytes, *, inner_name: str, password: str) -> bytes:
    """An AES-256 (WinZip AE-2) ZIP holding one file."""
    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode("ascii"))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.compresslevel = 6
        archive.writestr(inner_name, content)
    return out.getvalue()


def decrypt_zip(archive: bytes, *, password: str) -> dict[str, bytes]:
    """For tests and for re-checking an archive: every member, decrypted."""
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(password.encode("ascii"))
        return {name: opened.read(name) for name in opened.namelist()}
