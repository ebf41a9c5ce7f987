"""``POST /api/provision/v1/{file}/lookup`` (API.md §3, docs/provision.md): the duty × client ×
file matrix, each ``by``, items per duty, 消除者, the national fallback against the real mock,
hostile input, and the 個人番号 never reaching a log entry, a record or an error.

Run alone: ``TOX_PARALLEL_ENV=prov .venv/bin/python -m pytest -q tests/test_provision_lookup.py``
"""

import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from people import make_fuhyo, make_resident, my_number_for, next_code, number_in

from audit.models import AccessLogEntry, MachineClient
from audit.services import client_issue_direct
from fuhyo.models import MyNumberTemporary
from jukinet import national_client
from jukinet.codes import generate_juminhyo_code, generate_my_number, juminhyo_code_check_digit
from provision.models import Duty, ProvisionRecord

URL = "/api/provision/v1/{}/lookup"
ALL_ITEMS = ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on"]
FUHYO_ITEMS = ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address"]
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")

ABROAD_NUMBER = my_number_for(601)
TARO_NUMBER = my_number_for(602)


# --- Helpers and people -----------------------------------------------------------------------------


def issue(name: str, *duties: str):
    return client_issue_direct(kind="body", name=name, duty_codes=list(duties))


def post(client, token, file="honnin", payload=None, *, raw=None, content_type="application/json", **extra):
    data = raw if raw is not None else json.dumps(payload, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    # generic(): post() would re-encode the body in the charset the content type names.
    return client.generic(
        "POST", URL.format(file), data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}", **extra
    )


def by_code(code, duty="6-1", **more):
    return {"duty_code": duty, "by": "juminhyo_code", "juminhyo_code": code, **more}


def by_four_info(duty="6-1", **four_info):
    return {"duty_code": duty, "by": "four_info", "four_info": four_info}


def the_record() -> ProvisionRecord:
    records = list(ProvisionRecord.objects.all())
    assert len(records) == 1, records
    return records[0]


def lookups(**filters):
    return list(AccessLogEntry.objects.filter(action="provision.lookup", **filters).order_by("id"))


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code or (code.endswith("*") and error["code"].startswith(code[:-1])), error
    assert JAPANESE.search(error["message"]), error
    return error


@dataclasses.dataclass
class People:
    abroad: object  # a 国外転出者: honnin row 消除 (転出) with a 個人番号, a current 附票 record
    abroad_fuhyo: object
    taro: object  # a resident here, with a 個人番号


@pytest.fixture
def people(db):
    code = next_code()
    abroad = make_resident(
        juminhyo_code=code,
        my_number=ABROAD_NUMBER,
        name="山田　花子",
        name_kana="ヤマダ　ハナコ",
        birth_date=dt.date(1990, 1, 1),
        sex="2",
        deleted=True,
        change_reason="転出",
        changed_on=dt.date(2024, 4, 1),
    )
    abroad_fuhyo = make_fuhyo(
        juminhyo_code=code, name="山田　花子", name_kana="ヤマダ　ハナコ", birth_date=dt.date(1990, 1, 1)
    )
    taro = make_resident(my_number=TARO_NUMBER)
    return People(abroad, abroad_fuhyo, taro)


@pytest.fixture
def board(db):
    """教育委員会 with 6-1 (個人番号 yes, both files), 6-3 (no 個人番号), 6-8 (fewer items)."""
    return issue("教育委員会", "6-1", "6-3", "6-8")


# --- The matrix: client × duty × file × include_my_number ------------------------------------------------

WHO = ("body", "cs", "revoked")
FILES = ("honnin", "fuhyo")
# duty → (granted to the client, in the registry, active, files, 個人番号 allowed)
DUTIES = {
    "6-1": (True, True, True, {"honnin", "fuhyo"}, True),
    "6-3": (True, True, True, {"honnin"}, False),
    "6-5": (True, True, False, {"honnin"}, True),  # granted, then the duty was stopped
    "5-13": (False, True, True, {"honnin", "fuhyo"}, True),  # registered, not granted to this client
    "6-99": (True, False, False, set(), False),  # granted once, no longer in the registry
}


def expected(who: str, duty: str, file: str, include: bool) -> tuple[int, str | None, str]:
    if who == "revoked":
        return 401, "E_UNAUTHENTICATED", "refused"
    if who == "cs":
        return 403, "E_CLIENT_NOT_PERMITTED", "refused"
    granted, registered, active, files, my_number = DUTIES[duty]
    if not (granted and registered and active and file in files):
        return 403, "E_DUTY_NOT_PERMITTED", "refused"
    if include and not my_number:
        return 403, "E_MY_NUMBER_NOT_PERMITTED", "refused"
    return 200, None, "provided"


@pytest.fixture
def matrix_clients(db):
    body = issue("教育委員会", "6-1", "6-3", "6-5")
    revoked = issue("人事委員会", "6-1", "6-3", "6-5")
    for issued in (body, revoked):
        MachineClient.objects.filter(pk=issued.client.pk).update(duty_codes=["6-1", "6-3", "6-5", "6-99"])
    MachineClient.objects.filter(pk=revoked.client.pk).update(state="revoked")
    Duty.objects.filter(code="6-5").update(active=False)
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    return {"body": body, "cs": cs, "revoked": revoked}


@pytest.mark.parametrize(("who", "duty", "file", "include"), list(itertools.product(WHO, DUTIES, FILES, (False, True))))
def test_the_duty_client_file_matrix(client, people, matrix_clients, who, duty, file, include):
    issued = matrix_clients[who]
    code = people.abroad.juminhyo_code
    response = post(client, issued.token, file, by_code(code, duty, include_my_number=include))
    status, error_code, outcome = expected(who, duty, file, include)

    assert response.status_code == status, response.content
    record = the_record()  # exactly one record, whatever the outcome
    assert record.outcome == outcome
    assert record.client_id == issued.client.client_id
    assert (record.file, record.duty_code, record.by) == (file, duty, "juminhyo_code")
    assert record.target_codes == [code]
    [entry] = lookups()
    assert entry.actor == issued.client.client_id and entry.actor_kind == "client"
    assert entry.duty == duty and entry.target_file == file and entry.target_code == code

    if status != 200:
        assert_error(response, status, error_code)
        assert record.error_code == (error_code if who != "revoked" else "E_CLIENT_NOT_ACTIVE")
        assert record.items_given == [] and record.my_number_given is False
        assert entry.outcome == "refused"
        assert MyNumberTemporary.objects.count() == 0
        return

    body = response.json()
    assert body["provision_id"] == record.provision_id and body["source"] == "prefecture"
    assert body["truncated"] is False
    [result] = body["results"]
    items = ALL_ITEMS if file == "honnin" else FUHYO_ITEMS
    assert list(result) == items + (["my_number"] if include else [])
    assert result["juminhyo_code"] == code and result["name"] == "山田　花子"
    if file == "honnin":  # a 消除者, answered with the removal as its 異動事由
        assert (result["change_reason"], result["changed_on"]) == ("転出", "2024-04-01")
    assert record.items_given == items and record.source == "prefecture" and record.error_code == ""
    assert record.my_number_given is include
    assert entry.outcome == "ok"
    if include:
        assert result["my_number"] == ABROAD_NUMBER
    assert MyNumberTemporary.objects.count() == (1 if include and file == "fuhyo" else 0)
    assert response["Cache-Control"] == "no-store"


def test_a_revoked_clients_attempt_names_the_duty_it_asked_for_and_gets_no_more_than_401(client, people):
    issued = issue("教育委員会", "6-1")
    MachineClient.objects.filter(pk=issued.client.pk).update(state="suspended")
    response = post(client, issued.token, "fuhyo", by_code(people.abroad.juminhyo_code))
    assert_error(response, 401, "E_UNAUTHENTICATED")
    record = the_record()
    assert (record.client_id, record.duty_code, record.file, record.outcome) == (
        issued.client.client_id,
        "6-1",
        "fuhyo",
        "refused",
    )
    # The stored hash is the one audit.services keeps: a drift here would lose these records.
    assert (
        MachineClient.objects.get(pk=issued.client.pk).token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    )


def test_unknown_tokens_and_anonymous_requests_get_401_and_leave_no_record(client, people):
    payload = by_code(people.taro.juminhyo_code)
    for response in (
        post(client, "no-such-token", payload=payload),
        client.post(URL.format("honnin"), data=json.dumps(payload), content_type="application/json"),
        post(client, "x" * 500, payload=payload),
    ):
        assert_error(response, 401, "E_UNAUTHENTICATED")
    assert ProvisionRecord.objects.count() == 0
    assert AccessLogEntry.objects.filter(action="api.auth", outcome="refused").count() >= 2


def test_a_staff_session_cannot_use_the_lookup(staff_client, people):
    client = staff_client("teikyo")
    response = client.post(
        URL.format("honnin"), data=json.dumps(by_code(people.taro.juminhyo_code)), content_type="application/json"
    )
    assert response.status_code == 401
    assert ProvisionRecord.objects.count() == 0


def test_an_unknown_file_is_404_and_other_methods_405(client, board):
    assert_error(post(client, board.token, "other", by_code(next_code())), 404, "E_UNKNOWN_FILE")
    response = client.get(URL.format("honnin"), HTTP_AUTHORIZATION=f"Bearer {board.token}")
    assert_error(response, 405, "E_METHOD_NOT_ALLOWED")
    assert ProvisionRecord.objects.count() == 0


# --- Each `by` ----------------------------------------------------------------------------------------


def test_by_my_number_finds_the_resident_and_records_only_the_code(client, people, board):
    response = post(client, board.token, "honnin", {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER})
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["juminhyo_code"] == people.taro.juminhyo_code
    assert "my_number" not in result  # not asked for
    record = the_record()
    assert (record.by, record.target_codes, record.my_number_given) == (
        "my_number",
        [people.taro.juminhyo_code],
        False,
    )


def test_by_my_number_under_a_duty_without_the_my_number_is_refused(client, people, board):
    response = post(client, board.token, "honnin", {"duty_code": "6-3", "by": "my_number", "my_number": TARO_NUMBER})
    error = assert_error(response, 403, "E_MY_NUMBER_NOT_PERMITTED")
    assert error["field"] == "by"
    assert the_record().outcome == "refused"


def test_by_my_number_is_refused_on_the_fuhyo_file(client, people, board):
    response = post(client, board.token, "fuhyo", {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER})
    error = assert_error(response, 400, "E_MY_NUMBER_KEY_ON_FUHYO")
    assert error["field"] == "by"
    record = the_record()
    assert (record.outcome, record.error_code, record.by) == ("refused", "E_MY_NUMBER_KEY_ON_FUHYO", "my_number")


@pytest.mark.parametrize(
    "four_info",
    [
        {"name_kana": "さとう たろう", "birth_date": "1985-03-01"},  # hiragana, half-width space
        {"name_kana": "ｻﾄｳﾀﾛｳ", "birth_date": "1985-03-01", "sex": "1"},  # half-width katakana
        {"name": "佐藤太郎", "birth_date": "1985-03-01"},  # kanji without the space
        {"name": "佐藤 太郎", "address": "川越市元町一丁目"},  # address without the prefecture
        {"name_kana": "サトウ", "address": "埼玉県川越市元町"},  # surname and an address
    ],
)
def test_by_four_info_uses_the_staff_search_normalisation(client, people, board, four_info):
    response = post(client, board.token, "honnin", by_four_info(**four_info))
    assert response.status_code == 200, response.content
    assert [r["juminhyo_code"] for r in response.json()["results"]] == [people.taro.juminhyo_code]
    record = the_record()
    assert (record.by, record.target_codes) == ("four_info", [people.taro.juminhyo_code])


def test_by_four_info_on_the_fuhyo_file(client, people, board):
    response = post(client, board.token, "fuhyo", by_four_info(name_kana="やまだ はなこ", birth_date="1990-01-01"))
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["juminhyo_code"] == people.abroad.juminhyo_code
    assert result["address"] == people.abroad_fuhyo.address


@pytest.mark.parametrize(
    "four_info",
    [
        {"name_kana": "サトウタロウ"},  # a name alone
        {"name_kana": "サトウタロウ", "sex": "1"},  # sex never narrows enough
        {"birth_date": "1985-03-01", "sex": "1", "address": "埼玉県川越市元町"},  # no name
        {"name_kana": "サ", "birth_date": "1985-03-01"},  # one kana
        {"name_kana": "サトウ", "address": "埼玉県川越"},  # an address too short past the prefecture
        {},
    ],
)
def test_a_four_info_lookup_too_broad_for_a_machine_is_refused(client, people, board, four_info):
    response = post(client, board.token, "honnin", by_four_info(**four_info))
    error = assert_error(response, 400, "E_FOUR_INFO_TOO_BROAD")
    assert error["field"] == "four_info"
    assert the_record().outcome == "refused"


def test_at_most_100_results_and_the_rest_is_flagged_truncated(client, board):
    for _ in range(101):
        make_resident(name_kana="スズキ　イチロウ", name="鈴木　一郎", birth_date=dt.date(1970, 5, 5))
    response = post(client, board.token, "honnin", by_four_info(name_kana="スズキ", birth_date="1970-05-05"))
    body = response.json()
    assert len(body["results"]) == 100 and body["truncated"] is True
    assert len(the_record().target_codes) == 100
    assert "件数上限で打切り" in lookups()[0].detail


def test_a_four_info_lookup_reads_the_my_numbers_without_a_query_per_person(client, board):
    def ask(n: int) -> int:
        kana = f"タナカ　{'イロハニホ'[n - 2]}"
        for _ in range(n):
            make_resident(name_kana=kana, birth_date=dt.date(1960, 1, 1), my_number=my_number_for(700 + next(SERIAL)))
        with CaptureQueriesContext(connection) as queries:
            response = post(
                client,
                board.token,
                "honnin",
                {**by_four_info(name_kana=kana, birth_date="1960-01-01"), "include_my_number": True},
            )
        assert len(response.json()["results"]) == n
        return len(queries)

    assert ask(2) == ask(5)


SERIAL = itertools.count(1)


# --- Items per duty, 消除者 ------------------------------------------------------------------------------


def test_a_duty_is_given_only_its_items(client, people, board):
    response = post(client, board.token, "honnin", by_code(people.taro.juminhyo_code, "6-8"))
    [result] = response.json()["results"]
    assert list(result) == ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address"]
    assert the_record().items_given == list(result)


def test_a_transfer_duty_with_fewer_items(client, people):
    tax = issue("都市整備部", "5-20")
    response = post(client, tax.token, "honnin", by_code(people.taro.juminhyo_code, "5-20"))
    [result] = response.json()["results"]
    assert list(result) == ["juminhyo_code", "name", "birth_date", "address", "change_reason", "changed_on"]


def test_the_fuhyo_file_never_gives_the_change_reason_even_if_the_duty_has_it(client, people):
    tax = issue("税務局", "5-13")
    response = post(client, tax.token, "fuhyo", by_code(people.abroad.juminhyo_code, "5-13"))
    [result] = response.json()["results"]
    assert list(result) == FUHYO_ITEMS
    assert the_record().items_given == FUHYO_ITEMS


# --- Hostile input --------------------------------------------------------------------------------------

VALID = {"duty_code": "6-1", "by": "juminhyo_code", "juminhyo_code": "12345678903"}


def _json(payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _named(**four_info) -> str:
    return _json({"duty_code": "6-1", "by": "four_info", "four_info": {"birth_date": "1985-03-01", **four_info}})


HOSTILE = [
    # (raw body, content type, status, code)
    ("{", "application/json", 400, "E_MALFORMED_JSON"),
    ("", "application/json", 415, "E_UNSUPPORTED_MEDIA_TYPE"),  # the test client sends no type without a body
    (" ", "application/json", 400, "E_MALFORMED_JSON"),
    ('{"duty_code": "6-1",}', "application/json", 400, "E_MALFORMED_JSON"),
    ("\ufeff" + _json(VALID), "application/json", 400, "E_MALFORMED_JSON"),  # a BOM
    ("[" * 5000 + "]" * 5000, "application/json", 400, "E_MALFORMED_JSON"),  # nested beyond recursion
    ('{"duty_code": "6-1", "by": "juminhyo_code", "juminhyo_code": NaN}', "application/json", 400, "E_MALFORMED_JSON"),
    ('{"duty_code": ' + "9" * 5000 + "}", "application/json", 400, "E_MALFORMED_JSON"),  # int beyond 4,300 digits
    ("[]", "application/json", 400, "E_REQUEST_SHAPE"),
    ("null", "application/json", 400, "E_REQUEST_SHAPE"),
    ('"6-1"', "application/json", 400, "E_REQUEST_SHAPE"),
    (_json({**VALID, "duty_code": 61}), "application/json", 400, "E_DUTY_CODE"),
    (_json({**VALID, "duty_code": "6-1'; DROP TABLE provision_duty; --"}), "application/json", 400, "E_DUTY_CODE"),
    (_json({**VALID, "duty_code": "6-1\n"}), "application/json", 400, "E_DUTY_CODE"),
    (_json({**VALID, "duty_code": "６-１"}), "application/json", 400, "E_DUTY_CODE"),
    (_json({**VALID, "duty_code": 1e308}), "application/json", 400, "E_DUTY_CODE"),
    (_json({**VALID, "by": ["juminhyo_code"]}), "application/json", 400, "E_QUERY_BY"),
    (_json({**VALID, "by": "name"}), "application/json", 400, "E_QUERY_BY"),
    (_json({**VALID, "include_my_number": "yes"}), "application/json", 400, "E_INCLUDE_MY_NUMBER"),
    (_json({**VALID, "include_my_number": 1}), "application/json", 400, "E_INCLUDE_MY_NUMBER"),
    (_json({**VALID, "juminhyo_code": 12345678903}), "application/json", 400, "E_JUMINHYO_CODE*"),
    (_json({**VALID, "juminhyo_code": "12345678904"}), "application/json", 400, "E_JUMINHYO_CODE*"),
    (_json({**VALID, "juminhyo_code": "１２３４５６７８９０３"}), "application/json", 400, "E_JUMINHYO_CODE*"),
    (_json({**VALID, "juminhyo_code": None}), "application/json", 400, "E_JUMINHYO_CODE*"),
    (_json({**VALID, "juminhyo_code": "1" * 5000}), "application/json", 400, "E_JUMINHYO_CODE*"),
    (_json({"duty_code": "6-1", "by": "four_info", "four_info": ["佐藤"]}), "application/json", 400, "E_FOUR_INFO"),
    (_named(name=42), "application/json", 400, "E_FOUR_INFO"),
    (_named(name="佐" * 61), "application/json", 400, "E_TOO_LONG"),
    (_named(name="あ" * 2000), "application/json", 400, "E_TOO_LONG"),
    (_named(name="佐藤\x00太郎"), "application/json", 400, "E_CONTROL_CHAR"),
    (_named(name="佐藤\t太郎"), "application/json", 400, "E_CONTROL_CHAR"),
    (_named(name="佐藤\u202e太郎"), "application/json", 400, "E_CONTROL_CHAR"),
    (_named(name="佐藤\u200b太郎"), "application/json", 400, "E_CONTROL_CHAR"),
    (_named(name="X").replace('"X"', '"\\ud800"'), "application/json", 400, "E_CONTROL_CHAR"),  # a lone surrogate
    (_named(name_kana="sato taro"), "application/json", 400, "E_KANA"),
    (_named(name="佐藤", birth_date="1985/03/01"), "application/json", 400, "E_BIRTH_DATE"),
    (_named(name="佐藤", birth_date="1985-02-30"), "application/json", 400, "E_BIRTH_DATE"),
    (_named(name="佐藤", birth_date="昭和60年3月1日"), "application/json", 400, "E_BIRTH_DATE"),
    (_named(name="佐藤", birth_date="1985-03"), "application/json", 400, "E_BIRTH_DATE"),
    (_named(name="佐藤", birth_date="１９８５-０３-０１"), "application/json", 400, "E_BIRTH_DATE"),
    (_named(name="佐藤", birth_date=19850301), "application/json", 400, "E_FOUR_INFO"),
    (_named(name="佐藤", sex="3"), "application/json", 400, "E_SEX"),
    (_named(name="佐藤", sex=1), "application/json", 400, "E_FOUR_INFO"),
    (_named(name="佐藤", address="埼" * 121), "application/json", 400, "E_TOO_LONG"),
    (_json(VALID).encode("utf-8") + "é".encode("latin-1"), "application/json", 400, "E_ENCODING"),
    (_named(name="佐藤").encode("shift_jis"), "application/json", 400, "E_ENCODING"),
    (_named(name="佐藤").encode("shift_jis"), "application/json; charset=shift_jis", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    (_named(name="佐藤").encode("utf-16"), "application/json; charset=utf-16", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    (_json(VALID), "application/json; charset=no-such-charset", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    (_json(VALID), "text/plain", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    ("duty_code=6-1&by=juminhyo_code", "application/x-www-form-urlencoded", 415, "E_UNSUPPORTED_MEDIA_TYPE"),
    (_json({**VALID, "pad": "x" * 17_000}), "application/json", 413, "E_TOO_LARGE"),
]


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_input_is_a_4xx_in_the_error_shape_with_one_refused_record(
    client, board, people, raw, content_type, status, code
):
    response = post(client, board.token, "honnin", raw=raw, content_type=content_type)
    assert_error(response, status, code)
    record = the_record()
    assert record.outcome == "refused" and record.items_given == [] and not record.my_number_given
    assert record.client_id == board.client.client_id and record.file == "honnin"
    assert MyNumberTemporary.objects.count() == 0
    [entry] = lookups()
    assert entry.outcome == "refused"


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(client, board):
    response = post(client, board.token, "honnin", raw=_json({**VALID, "pad": "x" * (11 * 1024 * 1024)}))
    assert_error(response, 413, "E_TOO_LARGE")
    assert the_record().outcome == "refused"


def test_the_refused_record_keeps_what_was_asked_when_its_shape_was_right(client, board, people):
    response = post(client, board.token, "honnin", {**VALID, "include_my_number": "yes"})
    assert response.status_code == 400
    record = the_record()
    assert (record.duty_code, record.by, record.target_codes) == ("6-1", "juminhyo_code", ["12345678903"])


# --- The 個人番号 never leaves the response ---------------------------------------------------------------


def test_the_my_number_never_reaches_a_log_entry_a_record_or_an_error(client, people, board):
    numbers = (TARO_NUMBER, ABROAD_NUMBER)
    responses = [
        post(client, board.token, "honnin", {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER}),
        post(
            client,
            board.token,
            "honnin",
            {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER, "include_my_number": True},
        ),
        post(client, board.token, "honnin", by_code(people.abroad.juminhyo_code, include_my_number=True)),
        post(client, board.token, "fuhyo", by_code(people.abroad.juminhyo_code, include_my_number=True)),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert responses[1].json()["results"][0]["my_number"] == TARO_NUMBER
    wrong = TARO_NUMBER[:-1] + str((int(TARO_NUMBER[-1]) + 1) % 10)
    refusals = [
        post(client, board.token, "honnin", {"duty_code": "6-1", "by": "my_number", "my_number": wrong}),
        post(client, board.token, "honnin", {"duty_code": "6-3", "by": "my_number", "my_number": TARO_NUMBER}),
        post(client, board.token, "fuhyo", {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER}),
        post(client, board.token, "honnin", {"duty_code": "6-1", "by": "my_number", "my_number": TARO_NUMBER + "0"}),
    ]
    for response in refusals:
        assert 400 <= response.status_code < 500
        for number in (*numbers, wrong):
            assert not number_in(response.content.decode(), number)
    for entry in AccessLogEntry.objects.all():
        text = " ".join(str(getattr(entry, f.attname)) for f in AccessLogEntry._meta.concrete_fields)
        for number in (*numbers, wrong):
            assert not number_in(text, number), entry.action
    for record in ProvisionRecord.objects.all():
        text = " ".join(str(getattr(record, f.attname)) for f in ProvisionRecord._meta.concrete_fields)
        for number in (*numbers, wrong):
            assert not number_in(text, number)
    assert ProvisionRecord.objects.count() == len(responses) + len(refusals)
    for row in MyNumberTemporary.objects.all():
        assert ABROAD_NUMBER.encode() not in bytes(row.my_number)


# --- The national fallback, against the real mock ----------------------------------------------------------

rng = random.Random(20261206)


@pytest.fixture
def elsewhere(national):
    """Two residents of other prefectures, as the national mock knows them."""
    from jukinet.national.models import NationalResident
    from jukinet.national.seed import Person, resident_rows

    jiro = Person(
        juminhyo_code=generate_juminhyo_code(rng),
        my_number=generate_my_number(rng),
        name="高橋　次郎",
        name_kana="タカハシ　ジロウ",
        birth_date=dt.date(1982, 7, 7),
        sex="1",
        address="東京都世田谷区太子堂１丁目２番３号",
        prefecture_code="13",
        change_reason="転入",
        changed_on=dt.date(2021, 6, 1),
    )
    NationalResident.objects.bulk_create(resident_rows(jiro, fuhyo=True))
    return jiro


@pytest.fixture
def national_down(national):
    national_client.set_faults("down", seconds=60)
    try:
        yield
    finally:
        with contextlib.suppress(national_client.NationalError):
            national_client.set_faults("ok")


def test_a_person_of_another_prefecture_is_asked_of_the_national_server(client, elsewhere):
    board = issue("教育委員会", "6-1", "6-8")
    response = post(client, board.token, "honnin", by_code(elsewhere.juminhyo_code, include_my_number=True))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "national"
    [result] = body["results"]
    assert list(result) == [*ALL_ITEMS, "my_number"]
    assert (result["name"], result["change_reason"], result["my_number"]) == (
        "高橋　次郎",
        "転入",
        elsewhere.my_number,
    )
    record = the_record()
    assert (record.outcome, record.source, record.my_number_given) == ("provided", "national", True)
    assert record.target_codes == [elsewhere.juminhyo_code]
    assert record.provision_id == body["provision_id"]

    response = post(client, board.token, "honnin", by_code(elsewhere.juminhyo_code, "6-8"))
    assert list(response.json()["results"][0]) == FUHYO_ITEMS  # 6-8's items, from the national answer too


def test_the_fuhyo_national_server_gives_no_my_number(client, elsewhere):
    board = issue("教育委員会", "6-1")
    response = post(client, board.token, "fuhyo", by_code(elsewhere.juminhyo_code, include_my_number=True))
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["my_number"] is None and "change_reason" not in result
    record = the_record()
    assert (record.source, record.my_number_given) == ("national", False)
    assert MyNumberTemporary.objects.count() == 0


def test_a_four_info_lookup_falls_back_to_the_national_server(client, elsewhere):
    board = issue("教育委員会", "6-1")
    response = post(client, board.token, "honnin", by_four_info(name_kana="たかはし じろう", birth_date="1982-07-07"))
    body = response.json()
    assert body["source"] == "national"
    assert [r["juminhyo_code"] for r in body["results"]] == [elsewhere.juminhyo_code]


def test_nobody_anywhere_is_a_not_found_record(client, national):
    board = issue("教育委員会", "6-1")
    first10 = "9" + "".join(str(rng.randrange(10)) for _ in range(9))
    code = first10 + juminhyo_code_check_digit(first10)
    response = post(client, board.token, "honnin", by_code(code))
    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["source"] == "national"
    record = the_record()
    assert (record.outcome, record.source, record.target_codes, record.items_given) == (
        "not_found",
        "national",
        [code],
        [],
    )
    assert lookups()[0].outcome == "ok"


def test_removed_people_are_not_answered_where_the_receiver_could_not_tell(client, national):
    board = issue("教育委員会", "6-1", "6-8")
    removed = make_resident(deleted=True, change_reason="死亡", changed_on=dt.date(2025, 1, 1))
    gone_abroad_and_back = make_fuhyo(status="1", notice_kind="3", change_reason="国外からの転入")
    # 6-1 gives the 異動事由: the 消除者 is answered, flagged by it.
    response = post(client, board.token, "honnin", by_code(removed.juminhyo_code))
    assert response.json()["results"][0]["change_reason"] == "死亡"
    # 6-8 does not: not answered from here; the national server is asked (and knows nobody).
    response = post(client, board.token, "honnin", by_code(removed.juminhyo_code, "6-8"))
    assert (response.json()["results"], response.json()["source"]) == ([], "national")
    # A removed 附票 record is never answered from here.
    response = post(client, board.token, "fuhyo", by_code(gone_abroad_and_back.juminhyo_code))
    assert (response.json()["results"], response.json()["source"]) == ([], "national")


def test_the_national_server_down_is_a_503_and_a_failed_record(client, national_down):
    board = issue("教育委員会", "6-1")
    code = next_code()
    response = post(client, board.token, "honnin", by_code(code))
    assert_error(response, 503, "E_NATIONAL_UNAVAILABLE")
    record = the_record()
    assert (record.outcome, record.error_code, record.source, record.target_codes) == (
        "failed",
        "E_NATIONAL_UNAVAILABLE",
        "national",
        [code],
    )
    [entry] = lookups()
    assert entry.outcome == "failed"


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (national_client.NationalRejected(400, "E_FOUR_INFO"), 502, "E_NATIONAL_REJECTED"),
        ({"results": "nobody"}, 503, "E_NATIONAL_UNAVAILABLE"),  # a malformed answer
        ({"results": [{"juminhyo_code": "12345678904"}]}, 503, "E_NATIONAL_UNAVAILABLE"),  # a bad code in it
    ],
)
def test_a_refusing_or_garbled_national_server_is_a_failed_record(client, board, monkeypatch, failure, status, code):
    def query(file, payload):
        if isinstance(failure, Exception):
            raise failure
        return failure

    monkeypatch.setattr(national_client, "query", query)
    response = post(client, board.token, "honnin", by_code(next_code()))
    assert_error(response, status, code)
    record = the_record()
    assert (record.outcome, record.error_code, record.items_given) == ("failed", code, [])


def test_a_provision_id_never_looks_like_a_my_number_to_the_log_redaction(monkeypatch):
    from jukinet.log_redaction import redact
    from provision import services

    draws = iter(["123456789012", "12345678901a"])
    monkeypatch.setattr(services.secrets, "token_hex", lambda n: next(draws))
    provision_id = services.new_provision_id()
    assert provision_id.endswith("-12345678901a")
    assert redact(f"提供ID {provision_id}") == f"提供ID {provision_id}"
    assert services.PROVISION_ID.fullmatch(provision_id)
