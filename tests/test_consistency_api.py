"""API.md §2 整合性確認: the 市町村CS endpoints, the comparison (run here in-process, the same
service the Celery task calls; tests/test_consistency_worker.py runs it through a real worker),
and hostile input: every refusal a 4xx with a stable code, and nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from consistency_sets import FUHYO_COLUMNS, HONNIN_COLUMNS, HONNIN_REQUIRED, csv_body, fuhyo_row, honnin_row
from django.db import connection
from people import make_fuhyo, make_resident, my_number_for, next_code, number_in

from audit.models import AccessLogEntry, MachineClient
from audit.services import client_issue_direct
from jukinet import consistency as services
from jukinet.models import ConsistencyCheck, ConsistencyDifference

URL = "/api/cs/v1/{file}/consistency"


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")


@pytest.fixture
def other_cs(db):
    return client_issue_direct(kind="cs", name="熊谷市CS", municipality_code="112020")


@pytest.fixture
def post(client, cs):
    def send(body: bytes, *, file: str = "honnin", token: str | None = None, content_type="text/csv", **extra):
        return client.post(
            URL.format(file=file),
            data=body,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Bearer {token or cs.token}",
            **extra,
        )

    return send


@pytest.fixture
def get(client, cs):
    def fetch(path: str, *, token: str | None = None):
        return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token or cs.token}")

    return fetch


def stage_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'consistency\\_stage\\_%%' AND relkind = 'r'")
        return [row[0] for row in cursor.fetchall()]


def nothing_written() -> bool:
    return not ConsistencyCheck.objects.exists() and not ConsistencyDifference.objects.exists() and not stage_tables()


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def differences(text: str) -> dict[str, dict]:
    return {row["juminhyo_code"]: row for row in csv.DictReader(io.StringIO(text))}


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


# --- The whole flow (in-process comparison) ----------------------------------------------------


@pytest.fixture
def kawagoe(db):
    """Residents of 川越市 (112011), one of 熊谷市, and the 川越市CS's copy of them with changes."""
    people = {}
    for n, key in enumerate(["same", "address", "number", "former", "gaiji_same", "gaiji_diff", "only_here"], 1):
        fields = {"my_number": my_number_for(1000 + n), "municipality_code": "112011"}
        if key.startswith("gaiji"):
            fields["name"] = "髙\ue000　太郎"  # a 外字 with a code point and one in the Private Use Area
        if key == "former":
            fields.update(former_surname="鈴木", former_surname_kana="スズキ")
        if key == "only_here":
            fields.update(name="鈴木　一郎", name_kana="スズキ　イチロウ")
        people[key] = (make_resident(**fields), fields["my_number"])
    people["removed"] = (make_resident(municipality_code="112011", deleted=True, change_reason="転出"), None)
    people["moved_code"] = (
        make_resident(
            name="山田　花子", name_kana="ヤマダ　ハナコ", birth_date=dt.date(1970, 5, 5), sex="2",
            municipality_code="112011", my_number=my_number_for(1100),
        ),
        my_number_for(1100),
    )  # fmt: skip
    make_resident(municipality_code="112020")  # 熊谷市: never part of 川越市's set
    rows = [
        honnin_row(*people["same"]),
        honnin_row(*people["address"], address="埼玉県川越市新富町二丁目２番２号"),
        honnin_row(people["number"][0], my_number_for(1999)),
        honnin_row(*people["former"], former_surname="田中"),
        honnin_row(*people["gaiji_same"]),
        honnin_row(*people["gaiji_diff"], name="高\ue000　太郎"),
        honnin_row(*people["removed"]),
        # The CS holds 山田 花子 under another code (a 住民票コードの変更 missed on one side).
        honnin_row(*people["moved_code"], juminhyo_code=(new_code := next_code())),
        # And somebody the prefecture has never heard of.
        honnin_row(people["same"][0], None, juminhyo_code=(stranger := next_code()), name="知らない　人"),
    ]
    return people, rows, new_code, stranger


@pytest.mark.django_db
def test_a_set_is_received_compared_and_its_differences_handed_back_to_the_cs(post, get, kawagoe):
    people, rows, new_code, stranger = kawagoe
    response = post(csv_body(rows, HONNIN_COLUMNS))
    assert response.status_code == 202, response.content
    body = response.json()
    check_id = body["check_id"]
    assert services.CHECK_ID.fullmatch(check_id) and body["row_count"] == len(rows) and body["state"] == "received"
    status = get(f"{URL.format(file='honnin')}/{check_id}").json()
    assert status["state"] == "received" and status["progress"] == 0
    not_yet = get(f"{URL.format(file='honnin')}/{check_id}/differences")
    assert not_yet.status_code == 409 and error_of(not_yet)["code"] == "E_CHECK_NOT_DONE"

    assert services.consistency_compare(check_id=check_id) == "done"

    status = get(f"{URL.format(file='honnin')}/{check_id}").json()
    assert status["state"] == "done" and status["progress"] == 1.0
    assert status["counts"] == {
        "matched": 2,  # same, gaiji_same
        "different": 4,  # address, number, former, gaiji_diff
        "missing_here": 3,  # removed, the new code, the stranger
        "missing_there": 2,  # only_here, moved_code's old code
        "code_differs": 1,
    }
    response = get(f"{URL.format(file='honnin')}/{check_id}/differences")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = streamed(response)
    assert text.startswith("juminhyo_code,kind,items,counterpart_code,note\r\n")
    found = differences(text)
    code = {key: person[0].juminhyo_code for key, person in people.items()}
    assert found[code["address"]]["kind"] == "different" and found[code["address"]]["items"] == "address"
    assert found[code["number"]]["items"] == "my_number"
    assert found[code["former"]]["items"] == "former_surname"
    assert found[code["gaiji_diff"]]["items"] == "name"
    assert found[code["removed"]] == {**found[code["removed"]], "kind": "missing_here", "note": "removed_here"}
    assert found[code["only_here"]]["kind"] == "missing_there"
    assert found[new_code]["counterpart_code"] == code["moved_code"]
    assert found[code["moved_code"]]["counterpart_code"] == new_code
    assert found[new_code]["items"] == "juminhyo_code"
    assert found[stranger]["kind"] == "missing_here" and found[stranger]["counterpart_code"] == ""
    assert code["same"] not in found and code["gaiji_same"] not in found
    # The 個人番号 differs, and neither value appears anywhere: not in the CSV, the log or the database.
    for number in (my_number_for(1003), my_number_for(1999)):
        assert not number_in(text, number)
        for detail in AccessLogEntry.objects.values_list("detail", flat=True):
            assert not number_in(detail, number)
    assert stage_tables() == []  # the staged rows went with the comparison
    assert AccessLogEntry.objects.filter(action="consistency.receive", target_code=check_id, outcome="ok").exists()
    assert AccessLogEntry.objects.filter(action="consistency.done", target_code=check_id).exists()
    download = AccessLogEntry.objects.get(action="consistency.differences", target_code=check_id)
    assert download.actor == MachineClient.objects.get(kind="cs").client_id


@pytest.mark.django_db
def test_the_staff_csv_function_gives_what_the_cs_downloads(post, get, kawagoe):
    _, rows, _, _ = kawagoe
    check_id = post(csv_body(rows, HONNIN_COLUMNS)).json()["check_id"]
    services.consistency_compare(check_id=check_id)
    api_text = streamed(get(f"{URL.format(file='honnin')}/{check_id}/differences"))
    assert "".join(services.consistency_differences_csv(check_id)) == api_text
    assert services.consistency_differences_count(check_id) == len(api_text.splitlines()) - 1 == 9


@pytest.mark.django_db
def test_comparing_a_done_check_again_changes_nothing(post, kawagoe):
    _, rows, _, _ = kawagoe
    check_id = post(csv_body(rows, HONNIN_COLUMNS)).json()["check_id"]
    assert services.consistency_compare(check_id=check_id) == "done"
    before = list(ConsistencyDifference.objects.order_by("id").values_list("juminhyo_code", "kind", "items"))
    counts = ConsistencyCheck.objects.get(check_id=check_id).counts
    assert services.consistency_compare(check_id=check_id) == "done"
    assert list(ConsistencyDifference.objects.order_by("id").values_list("juminhyo_code", "kind", "items")) == before
    assert ConsistencyCheck.objects.get(check_id=check_id).counts == counts


@pytest.mark.django_db
def test_a_leading_utf8_bom_from_a_spreadsheet_is_accepted_and_compares_the_same(post, kawagoe):
    _, rows, _, _ = kawagoe
    plain = post(csv_body(rows, HONNIN_COLUMNS)).json()["check_id"]
    with_bom = post(b"\xef\xbb\xbf" + csv_body(rows, HONNIN_COLUMNS))
    assert with_bom.status_code == 202
    for check_id in (plain, with_bom.json()["check_id"]):
        assert services.consistency_compare(check_id=check_id) == "done"
    counts = [ConsistencyCheck.objects.get(check_id=c).counts for c in (plain, with_bom.json()["check_id"])]
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_only_the_columns_sent_are_compared(post, kawagoe):
    people, _, _, _ = kawagoe
    resident, number = people["former"]
    rows = [honnin_row(resident, number, HONNIN_REQUIRED)]
    check_id = post(csv_body(rows, HONNIN_REQUIRED)).json()["check_id"]
    services.consistency_compare(check_id=check_id)
    check = ConsistencyCheck.objects.get(check_id=check_id)
    assert "former_surname" not in check.items and "my_number" in check.items
    assert not ConsistencyDifference.objects.filter(juminhyo_code=resident.juminhyo_code).exists()


@pytest.mark.django_db
def test_a_fuhyo_set_is_compared_by_the_managing_municipality(post, get):
    same = make_fuhyo(managing_municipality_code="112011")
    changed = make_fuhyo(managing_municipality_code="112011", name="齋藤　花子")
    only_here = make_fuhyo(managing_municipality_code="112011")
    make_fuhyo(managing_municipality_code="112011", status="1", notice_kind="3")  # 消除: not in the set
    make_fuhyo(managing_municipality_code="112020")  # another CS's
    rows = [
        fuhyo_row(same),
        fuhyo_row(changed, last_address="埼玉県川越市仙波町一丁目１番１号"),
        fuhyo_row(same, juminhyo_code=(extra := next_code())),
    ]
    response = post(csv_body(rows, FUHYO_COLUMNS), file="fuhyo")
    assert response.status_code == 202, response.content
    check_id = response.json()["check_id"]
    assert services.consistency_compare(check_id=check_id) == "done"
    status = get(f"{URL.format(file='fuhyo')}/{check_id}").json()
    assert status["counts"]["matched"] == 1 and status["counts"]["different"] == 1
    assert status["counts"]["missing_there"] == 1 and status["counts"]["missing_here"] == 1
    found = differences(streamed(get(f"{URL.format(file='fuhyo')}/{check_id}/differences")))
    assert found[changed.juminhyo_code]["items"] == "last_address"
    assert found[only_here.juminhyo_code]["kind"] == "missing_there"
    assert found[extra]["kind"] == "missing_here"
    # A fuhyo check is not found under honnin.
    assert get(f"{URL.format(file='honnin')}/{check_id}").status_code == 404


@pytest.mark.django_db
def test_a_designated_citys_cs_checks_all_its_wards(client):
    saitama = client_issue_direct(kind="cs", name="さいたま市CS", municipality_code="111007")
    west = make_resident(municipality_code="111015", my_number=my_number_for(3001))
    north = make_resident(municipality_code="111023", my_number=my_number_for(3002))
    rows = [honnin_row(west, my_number_for(3001)), honnin_row(north, my_number_for(3002), municipality_code="111015")]
    response = client.post(
        URL.format(file="honnin"), data=csv_body(rows, HONNIN_COLUMNS), content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {saitama.token}",
    )  # fmt: skip
    assert response.status_code == 202, response.content
    check_id = response.json()["check_id"]
    services.consistency_compare(check_id=check_id)
    check = ConsistencyCheck.objects.get(check_id=check_id)
    assert check.counts["matched"] == 1 and check.counts["different"] == 1
    assert ConsistencyDifference.objects.get(juminhyo_code=north.juminhyo_code).items == ["municipality_code"]


# --- Who may ask ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_of_another_municipality_refuses_the_whole_set_and_is_logged(post, kawagoe):
    people, rows, _, _ = kawagoe
    rows.append(honnin_row(people["same"][0], None, juminhyo_code=next_code(), municipality_code="112020"))
    response = post(csv_body(rows, HONNIN_COLUMNS))
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "E_WRONG_MUNICIPALITY" and error["field"] == "municipality_code"
    assert error["message"].startswith(f"{len(rows) + 1}行目")
    assert nothing_written()
    assert AccessLogEntry.objects.filter(action="consistency.receive", outcome="refused").exists()


@pytest.mark.django_db
def test_another_cs_cannot_see_a_check_and_the_attempt_is_logged(post, get, kawagoe, other_cs):
    _, rows, _, _ = kawagoe
    check_id = post(csv_body(rows, HONNIN_COLUMNS)).json()["check_id"]
    for path in (f"{URL.format(file='honnin')}/{check_id}", f"{URL.format(file='honnin')}/{check_id}/differences"):
        response = get(path, token=other_cs.token)
        assert response.status_code == 404 and error_of(response)["code"] == "E_NOT_FOUND"
    refused = AccessLogEntry.objects.filter(action="consistency.status", outcome="refused", target_code=check_id)
    assert refused.count() == 2


@pytest.mark.django_db
def test_revoked_unknown_and_non_cs_clients_are_refused(post, cs):
    body = client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1"])
    data = b"juminhyo_code\r\n"
    assert post(data, token="not-a-token").status_code == 401
    refused = post(data, token=body.token)
    assert refused.status_code == 403 and error_of(refused)["code"] == "E_FORBIDDEN"
    MachineClient.objects.filter(pk=cs.client.pk).update(state="revoked")
    response = post(data)
    assert response.status_code == 401 and error_of(response)["code"] == "E_UNAUTHENTICATED"
    assert nothing_written()


@pytest.mark.django_db
def test_a_staff_session_cannot_use_the_machine_endpoint(staff_client):
    client = staff_client("gyomu")
    assert client.post(URL.format(file="honnin"), data=b"x", content_type="text/csv").status_code == 401


# --- Hostile and malformed input -----------------------------------------------------------------


def _valid_rows(n: int = 2) -> list[dict]:
    rows = []
    for i in range(n):
        resident = make_resident(municipality_code="112011", my_number=my_number_for(5000 + i))
        rows.append(honnin_row(resident, my_number_for(5000 + i)))
    return rows


def _header() -> str:
    return ",".join(HONNIN_COLUMNS)


def _line(row: dict) -> str:
    return ",".join(row[c] for c in HONNIN_COLUMNS)


HOSTILE = {
    # name: (body builder, status, code, line named in the message or None, field or None)
    "shift_jis": (lambda r: f"{_header()}\r\n{_line(r[0])}\r\n".encode("cp932"), 400, "E_CSV_ENCODING", 2, None),
    "bom_on_shift_jis": (
        lambda r: b"\xef\xbb\xbf" + f"{_header()}\r\n{_line(r[0])}\r\n".encode("cp932"), 400, "E_CSV_ENCODING", 2, None
    ),
    "utf16": (lambda r: f"{_header()}\r\n".encode("utf-16"), 400, "E_CSV_ENCODING", None, None),
    "nul": (lambda r: f"{_header()}\r\n{_line(r[0])}\r\n{_line(r[1])}\x00\r\n".encode(), 400, "E_CSV_CONTROL", 3,
            None),
    "bidi": (lambda r: f"{_header()}\r\n{_line({**r[0], 'name': 'a' + chr(0x202E) + 'b'})}\r\n".encode(), 400,
             "E_CSV_CONTROL", 2, None),
    "empty": (lambda r: b"", 400, "E_CSV_HEADER", None, None),
    "header_only": (lambda r: f"{_header()}\r\n".encode(), 400, "E_CSV_NO_ROWS", None, None),
    "missing_column": (lambda r: ",".join(HONNIN_COLUMNS[:-12]).encode() + b"\r\n", 400, "E_CSV_HEADER", None,
                       "municipality_code"),
    "duplicate_column": (lambda r: f"{_header()},name\r\n".encode(), 400, "E_CSV_HEADER", None, "name"),
    "unknown_column": (lambda r: f"{_header()},shoe_size\r\n".encode(), 400, "E_CSV_HEADER", None, "shoe_size"),
    "hostile_column": (lambda r: f"{_header()},<script>\r\n".encode(), 400, "E_CSV_HEADER", None, None),
    "ragged": (lambda r: f"{_header()}\r\n{_line(r[0])}\r\n{_line(r[1])},extra\r\n".encode(), 400, "E_CSV_ROW", 3,
               None),
    "short": (lambda r: f"{_header()}\r\n{_line(r[0])}\r\n1,2\r\n".encode(), 400, "E_CSV_ROW", 3, None),
    "newline_in_value": (lambda r: f'{_header()}\r\n{_line({**r[0], "name": chr(34) + "a" + chr(10) + "b" + chr(34)})}'
                         "\r\n".encode(), 400, "E_CSV_ROW", 3, None),
    "stray_quote": (lambda r: f'{_header()}\r\n{_line({**r[0], "name": chr(34) + "a" + chr(34) + "b"})}\r\n'.encode(),
                    400, "E_CSV_ROW", 2, None),
    "duplicate_code": (lambda r: f"{_header()}\r\n{_line(r[0])}\r\n{_line(r[1])}\r\n{_line(r[0])}\r\n".encode(), 400,
                       "E_CSV_DUPLICATE_CODE", 4, "juminhyo_code"),
    "bad_check_digit": (lambda r: f"{_header()}\r\n{_line({**r[0], 'juminhyo_code': '12345678901'})}\r\n".encode(),
                        400, "E_CSV_VALUE", 2, "juminhyo_code"),
    "bad_my_number": (lambda r: f"{_header()}\r\n{_line({**r[0], 'my_number': '123456789012'})}\r\n".encode(), 400,
                      "E_CSV_VALUE", 2, "my_number"),
    "bad_date": (lambda r: f"{_header()}\r\n{_line({**r[0], 'birth_date': '2026-02-30'})}\r\n".encode(), 400,
                 "E_CSV_VALUE", 2, "birth_date"),
    "future_date": (lambda r: f"{_header()}\r\n{_line({**r[0], 'birth_date': '2999-01-01'})}\r\n".encode(), 400,
                    "E_CSV_VALUE", 2, "birth_date"),
    "bad_sex": (lambda r: f"{_header()}\r\n{_line({**r[0], 'sex': '9'})}\r\n".encode(), 400, "E_CSV_VALUE", 2, "sex"),
    "empty_name": (lambda r: f"{_header()}\r\n{_line({**r[0], 'name': ''})}\r\n".encode(), 400, "E_CSV_VALUE", 2,
                   "name"),
    "long_name": (lambda r: f"{_header()}\r\n{_line({**r[0], 'name': 'あ' * 121})}\r\n".encode(), 400, "E_CSV_VALUE",
                  2, "name"),
    "huge_line": (lambda r: f"{_header()}\r\n".encode() + b"a" * (2 * 1024 * 1024), 400, "E_CSV_ROW", 2, None),
    "binary": (lambda r: bytes(range(256)) * 4, 400, "E_CSV_CONTROL", 1, None),
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_and_malformed_sets_are_refused_with_a_stable_code_and_nothing_written(post, case):
    build, status, code, line, field = HOSTILE[case]
    rows = _valid_rows()
    body = build(rows)
    # The test client sends neither type nor length with an empty body; a CS would send both.
    response = post(body, **({} if body else {"CONTENT_TYPE": "text/csv", "CONTENT_LENGTH": "0"}))
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    assert any("\u3040" <= ch <= "\u9fff" for ch in error["message"])  # Japanese
    if line is not None:
        assert error["message"].startswith(f"{line}行目"), error["message"]
    assert error.get("field") == field
    for row in rows:  # the message names the line and the column, never a value
        for value in (row["juminhyo_code"], row["my_number"], row["name"]):
            assert value not in error["message"]
    assert nothing_written()
    assert AccessLogEntry.objects.filter(action="consistency.receive", outcome="failed").exists()


@pytest.mark.django_db
def test_a_fuhyo_set_with_a_my_number_column_is_refused(post):
    record = make_fuhyo(managing_municipality_code="112011")
    row = fuhyo_row(record, my_number=my_number_for(7))
    response = post(csv_body([row], [*FUHYO_COLUMNS, "my_number"]), file="fuhyo")
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "E_MY_NUMBER_NOT_ALLOWED",
        "message": "附票本人確認情報ファイルには個人番号の列を送れません。",
        "field": "my_number",
    }
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [
        ("application/json", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
        ("multipart/form-data; boundary=x", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
        ("text/csv; charset=shift_jis", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_a_wrong_content_type_is_415(post, content_type, status, code):
    response = post(b"juminhyo_code\r\n", content_type=content_type)
    assert response.status_code == status and error_of(response)["code"] == code
    assert nothing_written()


@pytest.mark.django_db
def test_a_body_over_the_limit_is_413_and_a_body_without_length_is_411(post, settings):
    rows = _valid_rows()
    body = csv_body(rows, HONNIN_COLUMNS)
    settings.CONSISTENCY_MAX_BYTES = len(body) - 1
    response = post(body)
    assert response.status_code == 413 and error_of(response)["code"] == "E_TOO_LARGE"
    settings.CONSISTENCY_MAX_BYTES = 10_000_000
    response = post(body, CONTENT_LENGTH="")
    assert response.status_code == 411 and error_of(response)["code"] == "E_LENGTH_REQUIRED"
    assert nothing_written()


@pytest.mark.django_db
def test_the_body_is_read_in_chunks_and_the_count_of_bytes_is_enforced_too(cs, monkeypatch, settings):
    """Whatever Content-Length said, reading stops at the limit (a stream may carry more)."""
    from jukinet import consistency_stage

    settings.CONSISTENCY_MAX_BYTES = 50_000
    monkeypatch.setattr(consistency_stage, "READ_CHUNK", 4096)
    rows = _valid_rows(1)
    body = csv_body(rows * 1, HONNIN_COLUMNS) + b"\r\n" * 60_000
    stream = io.BytesIO(body)
    reads = []

    def read(n):
        reads.append(n)
        return stream.read(n)

    with pytest.raises(services.CsvTooLarge):
        services.consistency_receive(file="honnin", client=cs.client, read=read, content_length=10)
    assert set(reads) == {4096}
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("check_id", ["nonsense", "C20261101-SAMPLE00", "C20261101-" + "A" * 200])
def test_an_unknown_or_malformed_check_id_is_404(get, check_id):
    response = get(f"{URL.format(file='honnin')}/{check_id}")
    assert response.status_code == 404 and error_of(response)["code"] == "E_NOT_FOUND"


@pytest.mark.django_db
def test_an_unknown_file_is_404(post, get):
    assert error_of(post(b"x", file="other"))["code"] == "E_UNKNOWN_FILE"
    assert get("/api/cs/v1/other/consistency/C20261101-SAMPLE00").status_code == 404


def test_the_fast_check_digits_agree_with_jukinet_codes():
    import random

    from jukinet.codes import generate_juminhyo_code, generate_my_number, is_valid_juminhyo_code, is_valid_my_number
    from jukinet.codes import juminhyo_code_digit_ok as juminhyo_code_ok
    from jukinet.codes import my_number_digit_ok as my_number_ok

    rng = random.Random(8)
    for _ in range(5000):
        code, number = generate_juminhyo_code(rng), generate_my_number(rng)
        assert juminhyo_code_ok(code) and my_number_ok(number)
        wrong_code = code[:10] + str((int(code[10]) + rng.randint(1, 9)) % 10)
        wrong_number = number[:11] + str((int(number[11]) + rng.randint(1, 9)) % 10)
        assert juminhyo_code_ok(wrong_code) == is_valid_juminhyo_code(wrong_code) is False
        assert my_number_ok(wrong_number) == is_valid_my_number(wrong_number) is False
        other = f"{rng.randrange(10**11):011d}"
        assert juminhyo_code_ok(other) == is_valid_juminhyo_code(other)


@pytest.mark.django_db
def test_the_staged_index_of_a_my_number_is_the_one_the_file_stores():
    from honnin.my_number import my_number_index
    from jukinet.crypto import get_keyring

    # The upload indexes with the keyring directly: the same bytes the file's column holds.
    assert get_keyring().index(my_number_for(42)) == my_number_index(my_number_for(42))
