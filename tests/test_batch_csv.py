"""Conditions files of batch provision: what is accepted, what is refused (and that a refused
file stores nothing), rows that cannot be read, and the result CSV's defences.

Through the API (``POST /api/provision/v1/{file}/batches``) for whole files, and through
provision.batch_csv for single rows and cells.
"""

import datetime as dt

import pytest

from audit.models import AccessLogEntry, OutputApproval
from audit.services import client_issue_direct
from jukinet import crypto
from jukinet.kana import seion_key
from provision.batch_csv import (
    MAX_ROWS,
    ResultWriter,
    RowCondition,
    RowError,
    decode_conditions,
    neutralise,
    parse_row,
    read_conditions,
)
from provision.models import BatchJob, Duty, ProvisionRecord

HEADER = "row_id,juminhyo_code,my_number,name_kana,name,birth_date,sex,address"
COLUMNS = tuple(HEADER.split(","))
CODE = "12345678906"  # a valid 住民票コード (check digit 6)


@pytest.fixture
def body(db):
    # A test-only duty of its own (the seeded registry may change under the tests).
    Duty.objects.create(
        code="J-910",
        name="一括提供の試験の事務",
        legal_basis="試験条例第1条",
        files=["honnin", "fuhyo"],
        items=["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address"],
    )
    return client_issue_direct(kind="body", name="教育委員会", duty_codes=["J-910"])


def _post(client, token, body: bytes, *, content_type="text/csv", file="honnin", query="duty_code=J-910"):
    return client.post(
        f"/api/provision/v1/{file}/batches?{query}",
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _nothing_stored():
    assert BatchJob.objects.count() == 0
    assert OutputApproval.objects.count() == 0


# --- Accepted files --------------------------------------------------------------------------


def test_a_utf8_file_with_bom_is_accepted_and_stored_encrypted(client, body):
    text = f"{HEADER}\r\nA1,{CODE},,,,,,\r\nA2,,,サトウ　タロウ,佐藤　太郎,1985-03-01,1,川越市\r\n"
    response = _post(client, body.token, b"\xef\xbb\xbf" + text.encode())
    assert response.status_code == 202, response.content
    batch = BatchJob.objects.get(batch_id=response.json()["batch_id"])
    assert batch.row_count == 2 and batch.state == "awaiting_approval"
    assert "サトウ".encode() not in bytes(batch.conditions) and CODE.encode() not in bytes(batch.conditions)
    stored = crypto.get_keyring().decrypt(
        bytes(batch.conditions), context=f"provision.batch.conditions|{batch.batch_id}"
    )
    assert stored.startswith("row_id,") and "佐藤　太郎" in stored  # the BOM is gone, the text intact


def test_a_shift_jis_file_from_excel_is_detected_and_read(client, body):
    text = f"{HEADER}\r\nA1,,,サトウ　タロウ,佐藤　太郎,昭和60年3月1日,男,川越市元町\r\n"
    response = _post(client, body.token, text.encode("cp932"))
    assert response.status_code == 202, response.content
    batch = BatchJob.objects.get()
    stored = crypto.get_keyring().decrypt(
        bytes(batch.conditions), context=f"provision.batch.conditions|{batch.batch_id}"
    )
    assert "佐藤　太郎" in stored
    assert AccessLogEntry.objects.filter(action="batch.submit", detail__contains="cp932").exists()


def test_a_declared_charset_is_used(client, body):
    text = f"{HEADER}\nA1,,,サトウ　タロウ,,1985-03-01,,\n"
    # The test client encodes a str body in the declared charset.
    response = _post(client, body.token, text, content_type="text/csv; charset=Shift_JIS")
    assert response.status_code == 202
    refused = _post(client, body.token, text.encode("cp932"), content_type="text/csv; charset=utf-8")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "E_BATCH_ENCODING"


# --- Refused files: 400 or 413 with a code and a Japanese message, nothing stored ------------


@pytest.mark.parametrize(
    ("body_bytes", "code"),
    [
        (b"", "E_BATCH_EMPTY"),
        (b"\r\n\r\n", "E_BATCH_EMPTY"),
        ((HEADER + "\r\n").encode(), "E_BATCH_NO_ROWS"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "E_BATCH_NOT_CSV"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "E_BATCH_NOT_CSV"),
        ("row_id,juminhyo_code\n1,12345678906\n".encode("utf-16"), "E_BATCH_ENCODING"),
        (b'{"conditions": [{"juminhyo_code": "12345678906"}]}', "E_BATCH_UNKNOWN_COLUMN"),
        (b"row_id,juminhyo_code,password\n1,12345678906,x\n", "E_BATCH_UNKNOWN_COLUMN"),
        (b"row_id,juminhyo_code,juminhyo_code\n1,12345678906,12345678906\n", "E_BATCH_DUPLICATE_COLUMN"),
        (b"row_id,sex\n1,1\n", "E_BATCH_NO_KEY_COLUMN"),
        (b"row_id\tjuminhyo_code\n1\t12345678906\n", "E_BATCH_UNKNOWN_COLUMN"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "header-only",
        "png",
        "zip",
        "utf-16",
        "json",
        "unknown-column",
        "duplicate-column",
        "no-key-column",
        "tab-separated",
    ],
)
def test_a_file_that_is_not_a_conditions_csv_is_refused_and_nothing_is_stored(client, body, body_bytes, code):
    response = _post(client, body.token, body_bytes)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # Japanese
    _nothing_stored()


def test_broken_utf8_in_a_utf8_file_is_refused_not_read_as_shift_jis(client, body):
    good = (
        f"{HEADER}\nA1,,,サトウ　タロウ,佐藤　太郎,1985-03-01,1,川越市\n"
        "A2,,,スズキ　ハナコ,鈴木　花子,1990-01-01,2,川越市\n"
    )
    data = bytearray(good.encode())
    cut = data.index("鈴".encode())
    del data[cut + 1]  # one byte missing in the middle of a character
    response = _post(client, body.token, bytes(data))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "E_BATCH_ENCODING"
    assert "3行目" in response.json()["error"]["message"]
    _nothing_stored()


def test_200001_rows_are_too_many(client, body):
    rows = "".join(f"{n},{CODE}\n" for n in range(MAX_ROWS + 1))
    response = _post(client, body.token, ("row_id,juminhyo_code\n" + rows).encode())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "E_BATCH_TOO_MANY_ROWS"
    _nothing_stored()


def test_200000_rows_are_accepted(client, body):
    rows = "".join(f"{n},{CODE}\n" for n in range(MAX_ROWS))
    response = _post(client, body.token, ("row_id,juminhyo_code\n" + rows).encode())
    assert response.status_code == 202
    assert BatchJob.objects.get().row_count == MAX_ROWS


def test_a_60_mb_body_is_refused_before_it_is_read(client, body):
    line = f"{'x' * 30},{CODE}\n".encode()
    data = b"row_id,juminhyo_code\n" + line * (60 * 1024 * 1024 // len(line))
    response = _post(client, body.token, data)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "E_BATCH_TOO_LARGE"
    _nothing_stored()


def test_a_body_that_is_not_text_csv_is_refused(client, body):
    response = _post(client, body.token, b'{"a": 1}', content_type="application/json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "E_UNSUPPORTED_MEDIA_TYPE"
    _nothing_stored()


def test_a_missing_or_malformed_duty_code_or_flag_is_refused(client, body):
    data = f"{HEADER}\nA1,{CODE},,,,,,\n".encode()
    assert _post(client, body.token, data, query="").json()["error"]["code"] == "E_DUTY_CODE"
    for bad in ("x", "6-1%00", "6-1'--", "J-9100000"):
        response = _post(client, body.token, data, query=f"duty_code={bad}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "E_DUTY_CODE"
    assert not ProvisionRecord.objects.exists()
    response = _post(client, body.token, data, query="duty_code=J-910&include_my_number=maybe")
    assert response.status_code == 400 and response.json()["error"]["field"] == "include_my_number"
    _nothing_stored()


def test_an_unknown_file_is_404(client, body):
    response = _post(client, body.token, f"{HEADER}\nA1,{CODE},,,,,,\n".encode(), file="kojin")
    assert response.status_code == 404 and response.json()["error"]["code"] == "E_UNKNOWN_FILE"


def test_without_a_token_the_answer_is_401(client, body):
    response = client.post("/api/provision/v1/honnin/batches?duty_code=6-1", data=b"x", content_type="text/csv")
    assert response.status_code == 401
    _nothing_stored()
    assert not ProvisionRecord.objects.exists()


# --- Rows: each row one kind of key; what cannot be read is reported on the row ---------------


def _row(**values) -> list[str]:
    return [values.get(name, "") for name in COLUMNS]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({}, "E_ROW_NO_KEY"),
        ({"row_id": "x"}, "E_ROW_NO_KEY"),
        ({"juminhyo_code": CODE, "name_kana": "サトウ"}, "E_ROW_MIXED_KEYS"),
        ({"juminhyo_code": CODE, "my_number": "123456789018"}, "E_ROW_MIXED_KEYS"),
        ({"juminhyo_code": "12345678901"}, "E_JUMINHYO_CODE_CHECK_DIGIT"),
        ({"juminhyo_code": "１２３４５６７８９０６"}, "E_JUMINHYO_CODE_FULLWIDTH"),
        ({"my_number": "12345678901"}, "E_MY_NUMBER_LENGTH"),
        ({"name_kana": "サトウ　タロウ"}, "E_ROW_FOUR_INFO"),
        ({"birth_date": "1985-03-01", "sex": "1"}, "E_ROW_FOUR_INFO"),
        ({"name_kana": "サトウ", "birth_date": "1985-03"}, "E_ROW_BIRTH_DATE"),
        ({"name_kana": "サトウ", "birth_date": "きのう"}, "E_ROW_BIRTH_DATE"),
        ({"name_kana": "Sato", "birth_date": "1985-03-01"}, "E_ROW_KANA"),
        ({"name_kana": "サトウ", "birth_date": "1985-03-01", "sex": "3"}, "E_ROW_SEX"),
        ({"name": "佐藤" * 40, "birth_date": "1985-03-01"}, "E_ROW_TOO_LONG"),
        ({"name": "佐藤\u202e太郎", "birth_date": "1985-03-01"}, "E_ROW_CONTROL_CHAR"),
        ({"row_id": "x" * 41, "juminhyo_code": CODE}, "E_ROW_ROW_ID"),
    ],
)
def test_a_row_that_cannot_be_read_becomes_a_row_error(values, code):
    parsed = parse_row(COLUMNS, 7, _row(**values), file="honnin", prefecture="埼玉県")
    assert isinstance(parsed, RowError), parsed
    assert parsed.code == code and parsed.row_number == 7 and parsed.message


def test_a_row_with_too_many_or_too_few_fields_is_a_row_error():
    assert parse_row(COLUMNS, 1, ["a", CODE], file="honnin").code == "E_ROW_FIELDS"
    assert parse_row(COLUMNS, 1, [*_row(juminhyo_code=CODE), "extra"], file="honnin").code == "E_ROW_FIELDS"


def test_my_number_rows_are_refused_on_fuhyo_only():
    number = "123456789018"
    assert isinstance(parse_row(COLUMNS, 1, _row(my_number=number), file="honnin"), RowCondition)
    assert parse_row(COLUMNS, 1, _row(my_number=number), file="fuhyo").code == "E_ROW_MY_NUMBER_FUHYO"


def test_four_info_rows_are_normalised_like_the_search():
    parsed = parse_row(
        COLUMNS,
        3,
        _row(
            row_id="r3",
            name_kana="さとう たろう",
            name="佐藤太郎",
            birth_date="S60.3.1",
            sex="男",
            address="川越市元町1",
        ),
        file="honnin",
        prefecture="埼玉県",
    )
    assert isinstance(parsed, RowCondition)
    assert parsed.by == "four_info" and parsed.row_id == "r3"
    assert parsed.kana_key == seion_key("サトウ　タロウ")
    assert "佐藤　太郎" in parsed.kanji_names
    assert parsed.birth_date == dt.date(1985, 3, 1)
    assert parsed.sex == "1"
    assert parsed.address == "埼玉県川越市元町１"


# --- The whole file, without HTTP -------------------------------------------------------------


def test_blank_lines_are_not_rows():
    conditions = read_conditions(f"\n{HEADER}\n\nA1,{CODE},,,,,,\n\n\nA2,{CODE},,,,,,\n".encode())
    assert conditions.row_count == 2


def test_decode_prefers_utf8_and_falls_back_to_cp932():
    assert decode_conditions("佐藤".encode()) == ("佐藤", "utf-8")
    assert decode_conditions("佐藤".encode("cp932")) == ("佐藤", "cp932")


# --- The result CSV --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "＝1+1", '=HYPERLINK("http://x")'],
)
def test_a_cell_a_spreadsheet_would_run_is_prefixed_with_a_quote(value):
    assert neutralise(value) == "'" + value


def test_ordinary_cells_are_left_as_they_are():
    for value in ("佐藤　太郎", "12345678906", "1985-03-01", "", "a=b"):
        assert neutralise(value) == value


def test_the_result_csv_has_a_bom_and_crlf_for_excel():
    writer = ResultWriter(["row_number", "row_id"])
    writer.write([1, "=1+1"])
    data = writer.getvalue()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert b"'=1+1" in data
