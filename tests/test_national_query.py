"""機構への照会 (/national-query/<file>/) against the real national mock: each kind of key in
both files, the input checks, who may ask, what is logged, the 個人番号 never coming back, and
the national server being down.

Run alone: ``TOX_PARALLEL_ENV=natq .venv/bin/python -m pytest -q tests/test_national_query.py``
"""

import contextlib
import dataclasses
import datetime as dt
import random

import pytest

from audit import context
from audit.models import AccessLogEntry, Role
from jukinet import national_client
from jukinet.codes import generate_juminhyo_code, generate_my_number, juminhyo_code_check_digit
from jukinet.errors import InvalidInput, PermissionRefused
from jukinet.national.models import NationalResident
from jukinet.national_query import NationalQueryUnavailable, national_query

rng = random.Random(20261201)
URL = "/national-query/{}/"
ACTION = "national.query"


@pytest.fixture
def people(national):
    from jukinet.national.seed import Person, resident_rows

    hanako = Person(
        juminhyo_code=generate_juminhyo_code(rng),
        my_number=generate_my_number(rng),
        name="渡邊　花子",
        name_kana="ワタナベ　ハナコ",
        birth_date=dt.date(1980, 4, 1),
        sex="2",
        address="東京都千代田区本町１丁目２番３号",
        prefecture_code="13",
        change_reason="転入",
        changed_on=dt.date(2020, 4, 1),
    )
    taro = dataclasses.replace(
        hanako,
        juminhyo_code=generate_juminhyo_code(rng),
        my_number=generate_my_number(rng),
        name="佐藤　太郎",
        name_kana="サトウ　タロウ",
        birth_date=dt.date(1975, 1, 15),
        sex="1",
        address="大阪府大阪市北区中央２丁目１番１号",
        prefecture_code="27",
        change_reason="出生",
        changed_on=dt.date(1975, 1, 15),
    )
    # Hanako is in both files, Taro in honnin only.
    NationalResident.objects.bulk_create(resident_rows(hanako, fuhyo=True) + resident_rows(taro, fuhyo=False))
    return {"hanako": hanako, "taro": taro}


@pytest.fixture
def gyomu(staff_client, national):
    return staff_client("gyomu")


@pytest.fixture
def national_down(national):
    national_client.set_faults("down", seconds=60)
    try:
        yield
    finally:
        with contextlib.suppress(national_client.NationalError):
            national_client.set_faults("ok")


def ask(client, file: str, **fields):
    data = {"purpose": "national", "reference": "機構照会第12号", "by": "juminhyo_code", **fields}
    return client.post(URL.format(file), data)


def entries(**filters):
    return list(AccessLogEntry.objects.filter(action=ACTION, **filters).order_by("id"))


def form_errors(response, field: str | None) -> str:
    errors = response.context["form"].errors
    return " ".join(errors.get(field or "__all__", []))


def with_check_digit(first10: str) -> str:
    return first10 + juminhyo_code_check_digit(first10)


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


# --- Each kind of key, both files -----------------------------------------------------------------


@pytest.mark.parametrize("file", ["honnin", "fuhyo"])
def test_a_query_by_juminhyo_code_finds_the_person_and_is_logged(gyomu, people, file):
    hanako = people["hanako"]
    response = ask(gyomu, file, juminhyo_code=hanako.juminhyo_code)
    assert response.status_code == 200
    html = response.content.decode()
    assert hanako.juminhyo_code in html
    for shown in (
        "渡邊　花子",
        "ワタナベ　ハナコ",
        "昭和55年4月1日",
        "1980-04-01",
        "<td>女</td>",
        "東京都千代田区本町",
        "転入" if file == "honnin" else "附票記載",  # 異動事由 of each file
    ):
        assert shown in html, shown
    assert "令和2年4月1日" in html  # 異動年月日
    assert response["Cache-Control"] == "no-store"
    [entry] = entries(outcome="ok")
    assert (entry.target_file, entry.target_code, entry.duty) == (file, hanako.juminhyo_code, "national")
    assert entry.actor == gyomu.operator.login_id
    assert "住民票コードによる照会 1件" in entry.detail and "機構照会第12号" in entry.detail
    assert "渡邊" not in entry.detail and "ワタナベ" not in entry.detail


def test_a_query_by_my_number_finds_the_person_and_the_number_never_comes_back(gyomu, people):
    taro = people["taro"]
    response = ask(gyomu, "honnin", by="my_number", my_number=taro.my_number)
    assert response.status_code == 200
    html = response.content.decode()
    assert taro.juminhyo_code in html and "佐藤　太郎" in html
    assert taro.my_number not in html  # neither in the box nor anywhere else
    [entry] = entries(outcome="ok")
    assert entry.target_code == "" and "個人番号による照会 1件" in entry.detail
    for logged in AccessLogEntry.objects.all():
        for model_field in AccessLogEntry._meta.fields:
            assert taro.my_number not in str(getattr(logged, model_field.attname)), model_field.name


@pytest.mark.parametrize("file", ["honnin", "fuhyo"])
@pytest.mark.parametrize(
    "four_info",
    [
        {"name_kana": "わたなべ はなこ", "birth_date": "昭和55年4月1日"},
        {"name_kana": "ﾜﾀﾅﾍﾞ ﾊﾅｺ", "birth_date": "S55.4.1"},
        {"name": "渡邊花子", "sex": "2"},
        {"name": "渡邊 花子", "address": "東京都千代田区"},
        {"name": "渡邊花子", "address": "東京都千代田区本町1丁目"},  # half-width digits find the stored full width
        {"name_kana": "ワタナベハナコ", "birth_date": "1980-04-01", "sex": "2"},
    ],
)
def test_a_query_by_four_info_finds_the_person(gyomu, people, file, four_info):
    response = ask(gyomu, file, by="four_info", **four_info)
    assert response.status_code == 200, form_errors(response, None)
    assert people["hanako"].juminhyo_code in response.content.decode()
    [entry] = entries(outcome="ok")
    assert entry.target_code == "" and "4情報による照会 1件" in entry.detail


def test_no_match_is_answered_with_none_found(gyomu, people):
    # Taro has no fuhyo row.
    response = ask(gyomu, "fuhyo", juminhyo_code=people["taro"].juminhyo_code)
    assert response.status_code == 200
    assert "該当なし" in response.content.decode()
    [entry] = entries(outcome="ok")
    assert "0件" in entry.detail


def test_more_than_a_hundred_matches_are_cut_with_a_note(gyomu, national):
    from jukinet.national.seed import Person, resident_rows

    rows = []
    for n in range(101):
        rows += resident_rows(
            Person(
                juminhyo_code=generate_juminhyo_code(rng),
                my_number=generate_my_number(rng),
                name="鈴木　一郎",
                name_kana="スズキ　イチロウ",
                birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=n),
                sex="1",
                address="北海道札幌市中央区",
                prefecture_code="01",
                change_reason="転入",
                changed_on=dt.date(2020, 1, 1),
            ),
            fuhyo=False,
        )
    NationalResident.objects.bulk_create(rows)
    response = ask(gyomu, "honnin", by="four_info", name_kana="すずき いちろう", sex="1")
    assert response.status_code == 200
    assert "最初の100件だけを表示しています" in response.content.decode()
    assert len(response.context["rows"]) == 100
    [entry] = entries(outcome="ok")
    assert "100件（打切り）" in entry.detail


def test_the_query_page_shows_the_form_with_the_first_field_focused(gyomu):
    response = gyomu.get(URL.format("honnin"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="purpose"' in html and "autofocus" in html
    assert 'name="my_number"' in html and 'value="my_number"' in html
    assert 'autocomplete="off"' in html
    assert not entries()  # showing the form asks nobody


def test_an_unknown_file_is_not_found(gyomu):
    assert gyomu.get(URL.format("koseki")).status_code == 404
    assert ask(gyomu, "koseki", juminhyo_code=with_check_digit("1234567890")).status_code == 404


# --- 附票 and the 個人番号 ------------------------------------------------------------------------


def test_fuhyo_has_no_my_number_option_and_refuses_one(gyomu, people):
    html = gyomu.get(URL.format("fuhyo")).content.decode()
    assert 'name="my_number"' not in html and 'value="my_number"' not in html
    response = ask(gyomu, "fuhyo", by="my_number", my_number=people["hanako"].my_number)
    assert response.status_code == 400
    assert "選択が正しくありません" in form_errors(response, "by")
    assert people["hanako"].my_number not in response.content.decode()
    assert not entries(outcome="ok")


def test_the_service_refuses_a_my_number_query_on_fuhyo(gyomu, people):
    with pytest.raises(InvalidInput) as caught:
        national_query(
            operator=gyomu.operator,
            file="fuhyo",
            by="my_number",
            purpose="national",
            reference="",
            my_number=people["hanako"].my_number,
        )
    assert caught.value.code == "E_MY_NUMBER_NOT_ALLOWED" and caught.value.field == "by"
    assert people["hanako"].my_number not in str(caught.value)


def test_a_wrong_my_number_is_not_echoed_back(gyomu, people):
    wrong = people["taro"].my_number[:-1] + str((int(people["taro"].my_number[-1]) + 1) % 10)
    response = ask(gyomu, "honnin", by="my_number", my_number=wrong)
    assert response.status_code == 400
    assert "検査用数字が正しくありません" in form_errors(response, "my_number")
    assert wrong not in response.content.decode()


def test_a_get_with_a_key_in_the_url_asks_nothing_and_echoes_nothing(gyomu, people):
    number = people["taro"].my_number
    response = gyomu.get(URL.format("honnin"), {"by": "my_number", "my_number": number, "purpose": "national"})
    assert response.status_code == 200
    assert number not in response.content.decode()
    assert response.context["answer"] is None
    assert not entries()


# --- Input checks ---------------------------------------------------------------------------------

VALID_CODE = with_check_digit("1234567890")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"juminhyo_code": wrong_check_digit(VALID_CODE)}, "juminhyo_code", "検査用数字が正しくありません"),
        ({"juminhyo_code": ""}, "juminhyo_code", "住民票コードを入力してください"),
        ({"juminhyo_code": "１２３４５６７８９０１"}, "juminhyo_code", "半角数字"),
        ({"juminhyo_code": "1' OR '1'='1"}, "juminhyo_code", "半角数字だけで"),
        ({"juminhyo_code": "1" * 21}, "juminhyo_code", "20文字以内"),
        ({"by": "my_number", "my_number": "123456789012"}, "my_number", "検査用数字が正しくありません"),
        ({"by": "four_info", "name_kana": "はなこ", "birth_date": "令和99年13月"}, "birth_date", "存在しない日付"),
        ({"by": "four_info", "name_kana": "はなこ", "birth_date": "2026-02-30"}, "birth_date", "存在しない日付"),
        ({"by": "four_info", "name_kana": "はなこ", "birth_date": "S60.3"}, "birth_date", "日まで入力"),
        ({"by": "four_info", "name_kana": "はなこ", "birth_date": "きのう"}, "birth_date", "のように入力"),
        ({"by": "four_info", "name_kana": "はなこ", "birth_date": "2099-01-01"}, "birth_date", "未来"),
        ({"by": "four_info", "name_kana": "は" * 121, "sex": "2"}, "name_kana", "120文字以内"),
        ({"by": "four_info", "name_kana": "hanako", "sex": "2"}, "name_kana", "ひらがなまたはカタカナ"),
        ({"by": "four_info", "name": "花子\x1b[31m", "sex": "2"}, "name", "制御文字"),
        ({"by": "four_info", "name": "' OR 1=1 --", "sex": "2"}, "name", "使えない文字"),
        ({"by": "four_info", "name": "Robert'); DROP TABLE national_resident;--", "sex": "2"}, "name", "使えない文字"),
        ({"by": "four_info", "name": "花子", "address": "東京都<script>"}, "address", "使えない文字"),
        ({"by": "four_info", "name": "花子", "address": "東" * 256}, "address", "255文字以内"),
        ({"by": "four_info", "name": "花子", "sex": "3"}, "sex", "選択が正しくありません"),
        ({"by": "four_info", "name_kana": "はなこ"}, None, "生年月日・性別・住所のいずれか"),
        ({"by": "four_info", "birth_date": "1980-04-01", "sex": "2"}, "name_kana", "氏名（ふりがなまたは漢字）"),
        ({"by": "name"}, "by", "選択が正しくありません"),
        ({"purpose": ""}, "purpose", "照会の目的（事務）を選択してください"),
        ({"purpose": "curiosity"}, "purpose", "選択が正しくありません"),
        ({"reference": "x" * 41}, "reference", "40文字以内"),
        ({"reference": "第1号\x07"}, "reference", "制御文字"),
        ({"reference": "第1号\u202e"}, "reference", "制御文字"),
        ({"reference": "第1号\x00"}, "reference", "制御文字"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_in_japanese(gyomu, fields, field, message):
    data = {"juminhyo_code": VALID_CODE, **fields}
    response = ask(gyomu, "honnin", **data)
    assert response.status_code == 400
    errors = form_errors(response, field)
    assert message in errors, response.context["form"].errors
    assert not entries(outcome="ok")  # nothing was asked


@pytest.mark.parametrize(
    ("arguments", "field", "code"),
    [
        ({"purpose": "curiosity"}, "purpose", "E_PURPOSE"),
        ({"reference": "x" * 41}, "reference", "E_INVALID"),
        ({"reference": "a\tb"}, "reference", "E_INVALID"),
        ({"by": "name"}, "by", "E_QUERY_BY"),
        ({"juminhyo_code": wrong_check_digit(VALID_CODE)}, "juminhyo_code", "E_JUMINHYO_CODE_CHECK_DIGIT"),
        ({"by": "four_info", "four_info": {"name": "花子"}}, None, "E_FOUR_INFO_TOO_BROAD"),
        ({"by": "four_info", "four_info": {"name": "花子", "birth_date": "R99.13.1"}}, "birth_date", "E_BIRTH_DATE"),
        (
            {"by": "four_info", "four_info": {"name": "花子", "birth_date": "H2"}},
            "birth_date",
            "E_BIRTH_DATE_PRECISION",
        ),
        ({"by": "four_info", "four_info": {"name": 7, "sex": "1"}}, "name", "E_INVALID"),
    ],
)
def test_the_service_checks_the_input_itself(gyomu, arguments, field, code):
    base = {
        "file": "honnin",
        "by": "juminhyo_code",
        "purpose": "national",
        "reference": "",
        "juminhyo_code": VALID_CODE,
    }
    with pytest.raises(InvalidInput) as caught:
        national_query(operator=gyomu.operator, **{**base, **arguments})
    assert (caught.value.field, caught.value.code) == (field, code)


# --- Who may ask ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r != Role.GYOMU])
def test_other_roles_are_refused_and_the_refusal_is_logged(staff_client, national, people, role):
    client = staff_client(role)
    assert client.get(URL.format("honnin")).status_code == 403
    response = ask(client, "honnin", juminhyo_code=people["hanako"].juminhyo_code)
    assert response.status_code == 403
    assert people["hanako"].juminhyo_code not in response.content.decode()
    refusals = entries(outcome="refused", actor=client.operator.login_id)
    assert len(refusals) == 2
    assert not entries(outcome="ok")


def test_a_gyomu_operator_without_the_fuhyo_duty_is_refused_fuhyo_only(staff_client, national, people):
    client = staff_client("gyomu", duties=["honnin"])
    hanako = people["hanako"]
    response = client.get(URL.format("fuhyo"))
    assert response.status_code == 403
    assert "附票本人確認情報の担当ではない" in response.content.decode()
    response = ask(client, "fuhyo", juminhyo_code=hanako.juminhyo_code)
    assert response.status_code == 403
    assert hanako.juminhyo_code not in response.content.decode()
    refusals = entries(outcome="refused", target_file="fuhyo")
    assert len(refusals) == 2 and all("担当外" in r.detail for r in refusals)
    assert ask(client, "honnin", juminhyo_code=hanako.juminhyo_code).status_code == 200


def test_the_service_refuses_a_colleague_in_another_role_and_logs_it(make_operator, national, people):
    kaiji = make_operator("kaiji")
    with context.acting(actor_kind="operator", actor=kaiji.login_id), pytest.raises(PermissionRefused):
        national_query(
            operator=kaiji,
            file="honnin",
            by="juminhyo_code",
            purpose="disclosure",
            reference="",
            juminhyo_code=people["hanako"].juminhyo_code,
        )
    [entry] = entries(outcome="refused")
    assert entry.actor == kaiji.login_id and entry.target_file == "honnin"


def test_a_refusal_by_the_national_side_is_shown_and_logged(gyomu, people, monkeypatch):
    def refuse(file, payload):
        raise national_client.NationalRejected(400, "E_JUMINHYO_CODE_CHECK_DIGIT", "住民票コードが正しくありません。")

    monkeypatch.setattr(national_client, "query", refuse)
    response = ask(gyomu, "honnin", juminhyo_code=people["hanako"].juminhyo_code)
    assert response.status_code == 400
    assert "住民票コードが正しくありません。" in form_errors(response, "juminhyo_code")
    [entry] = entries(outcome="refused")
    assert "HTTP 400 E_JUMINHYO_CODE_CHECK_DIGIT" in entry.detail
    assert entry.target_code == people["hanako"].juminhyo_code


# --- The national server down ---------------------------------------------------------------------


@pytest.mark.parametrize("file", ["honnin", "fuhyo"])
def test_the_national_server_down_is_a_503_with_a_japanese_message_and_logged(gyomu, people, national_down, file):
    hanako = people["hanako"]
    response = ask(gyomu, file, juminhyo_code=hanako.juminhyo_code)
    assert response.status_code == 503
    assert "全国サーバに接続できません。時間をおいて再度照会してください。" in response.content.decode()
    assert response.context["answer"] is None
    [entry] = entries(outcome="error")
    assert (entry.target_file, entry.target_code, entry.duty) == (file, hanako.juminhyo_code, "national")
    assert "接続できず" in entry.detail


def test_the_national_server_down_during_a_my_number_query_logs_no_number(gyomu, people, national_down):
    number = people["taro"].my_number
    response = ask(gyomu, "honnin", by="my_number", my_number=number)
    assert response.status_code == 503
    assert number not in response.content.decode()
    [entry] = entries(outcome="error")
    assert number not in entry.detail and entry.target_code == ""


def test_the_service_raises_unavailable_when_the_national_server_is_down(gyomu, people, national_down):
    with pytest.raises(NationalQueryUnavailable) as caught:
        national_query(
            operator=gyomu.operator,
            file="honnin",
            by="juminhyo_code",
            purpose="national",
            reference="",
            juminhyo_code=people["hanako"].juminhyo_code,
        )
    assert caught.value.status == 503


def test_each_person_in_an_answer_is_logged_with_their_code(gyomu, people):
    taro = people["taro"]
    ask(gyomu, "honnin", by="my_number", my_number=taro.my_number)
    [query] = entries(outcome="ok")
    [shown] = AccessLogEntry.objects.filter(action=f"{ACTION}.result")
    assert shown.target_code == taro.juminhyo_code and f"#{query.pk}" in shown.detail
    assert taro.my_number not in shown.detail
