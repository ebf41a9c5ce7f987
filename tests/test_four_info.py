"""The search conditions: normalisation of each kind of input and the narrowness rule."""

import datetime as dt

import pytest

from jukinet.errors import InvalidInput
from jukinet.four_info import SearchTooBroad, address_prefix, build_conditions, kanji_name_variants


def test_kana_in_any_script_and_width_gives_the_same_key():
    keys = {
        build_conditions(name_kana=text, sex="1").kana_key
        for text in ("さとう　たろう", "サトウ タロウ", "ｻﾄｳ ﾀﾛｳ", "サトオタロオ", " さ と う た ろ う ")
    }
    assert keys == {"サトオタロオ"}


def test_voiced_kana_match_their_plain_forms():
    assert (
        build_conditions(name_kana="すずき", sex="1").kana_key == build_conditions(name_kana="ススキ", sex="1").kana_key
    )


def test_a_kanji_name_without_a_space_is_tried_at_every_split():
    assert kanji_name_variants("鈴木和子") == ("鈴木和子", "鈴\u3000木和子", "鈴木\u3000和子", "鈴木和\u3000子")
    assert kanji_name_variants("鈴木 和子") == ("鈴木\u3000和子",)
    assert kanji_name_variants("  鈴木　　和子 ") == ("鈴木\u3000和子",)


def test_an_address_is_aligned_to_the_stored_full_width_form():
    assert address_prefix("川越市元町1-1", prefecture="埼玉県") == "埼玉県川越市元町１－１"
    assert address_prefix("埼玉県 川越市", prefecture="埼玉県") == "埼玉県川越市"
    assert address_prefix("ｱﾒﾘｶ") == "アメリカ"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("昭和60年3月1日", dt.date(1985, 3, 1), dt.date(1985, 3, 1)),
        ("S60.3", dt.date(1985, 3, 1), dt.date(1985, 3, 31)),
        ("1985", dt.date(1985, 1, 1), dt.date(1985, 12, 31)),
    ],
)
def test_birth_dates_in_wareki_or_seireki(text, start, end):
    birth = build_conditions(name_kana="すずき", birth_date=text).birth
    assert (birth.start, birth.end) == (start, end)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"name_kana": "す", "sex": "1"},  # one kana is not a name
        {"name_kana": "すずき"},  # a name alone
        {"name": "鈴"},  # a name alone
        {"name": "鈴", "kanji_prefix": True, "sex": "1"},  # a one-character prefix
        {"sex": "1", "birth_date": "1985"},  # no name, no whole date
        {"birth_date": "1985-03-01"},  # a date alone
        {"birth_date": "1985-03-01", "address": "埼玉県"},  # the prefecture narrows nothing
        {"address": "埼玉県川越市元町", "sex": "2"},
    ],
)
def test_fishing_searches_are_refused(fields):
    with pytest.raises(SearchTooBroad) as caught:
        build_conditions(prefecture="埼玉県", **fields)
    assert caught.value.code == "E_SEARCH_TOO_BROAD"
    assert "検索条件が広すぎます" in caught.value.message


@pytest.mark.parametrize(
    "fields",
    [
        {"name_kana": "すず", "sex": "1"},
        {"name": "鈴木和子", "birth_date": "S60"},
        {"name": "鈴木", "kanji_prefix": True, "address": "川越市"},
        {"birth_date": "1985-03-01", "sex": "2"},
        {"birth_date": "H2.1.1", "address": "川越市元町"},
    ],
)
def test_narrow_searches_pass(fields):
    build_conditions(prefecture="埼玉県", **fields)


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name_kana": "あ" * 61, "sex": "1"}, "name_kana", "E_TOO_LONG"),
        ({"name": "鈴木\x00", "sex": "1"}, "name", "E_CONTROL_CHAR"),
        ({"name_kana": "すずき\u202e", "sex": "1"}, "name_kana", "E_CONTROL_CHAR"),
        ({"name_kana": "'; DROP TABLE honnin_resident; --", "sex": "1"}, "name_kana", "E_KANA"),
        ({"name_kana": "suzuki", "sex": "1"}, "name_kana", "E_KANA"),
        ({"name_kana": "すずき", "birth_date": "令和99年13月"}, "birth_date", "E_BIRTH_DATE"),
        ({"name_kana": "すずき", "birth_date": "2026-02-30"}, "birth_date", "E_BIRTH_DATE"),
        ({"name_kana": "すずき", "birth_date": "9999-01-01"}, "birth_date", "E_BIRTH_DATE"),
        ({"name_kana": "すずき", "sex": "9"}, "sex", "E_SEX"),
        ({"name_kana": "すずき", "address": "埼" * 121}, "address", "E_TOO_LONG"),
    ],
)
def test_hostile_input_gets_a_field_error(fields, field, code):
    with pytest.raises(InvalidInput) as caught:
        build_conditions(prefecture="埼玉県", **fields)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_the_log_description_names_kinds_not_values():
    conditions = build_conditions(name_kana="すずき", name="鈴木", kanji_prefix=True, birth_date="S60.3", sex="1")
    text = conditions.describe()
    assert "スス" not in text and "鈴木" not in text and "1985" not in text
    assert "かな氏名" in text and "生年月" in text
