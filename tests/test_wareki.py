import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.wareki import BirthDateError, parse_birth_date, to_wareki

D = dt.date
TODAY = D(2026, 11, 26)


@pytest.mark.parametrize(
    ("text", "start", "end", "precision"),
    [
        ("昭和60年3月1日", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("S60.3.1", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("s60.3.1", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("Ｓ６０．３．１", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("昭和60年3月", D(1985, 3, 1), D(1985, 3, 31), "month"),
        ("昭和60年", D(1985, 1, 1), D(1985, 12, 31), "year"),
        ("平成元年", D(1989, 1, 8), D(1989, 12, 31), "year"),
        ("H1.1.8", D(1989, 1, 8), D(1989, 1, 8), "day"),
        ("昭和64年", D(1989, 1, 1), D(1989, 1, 7), "year"),
        ("平成31年4月", D(2019, 4, 1), D(2019, 4, 30), "month"),
        ("令和元年5月", D(2019, 5, 1), D(2019, 5, 31), "month"),
        ("R5", D(2023, 1, 1), D(2023, 12, 31), "year"),
        ("1985-03-01", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("1985/3/1", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("19850301", D(1985, 3, 1), D(1985, 3, 1), "day"),
        ("1985年3月", D(1985, 3, 1), D(1985, 3, 31), "month"),
        ("1985", D(1985, 1, 1), D(1985, 12, 31), "year"),
        ("2000-02", D(2000, 2, 1), D(2000, 2, 29), "month"),
    ],
)
def test_wareki_and_seireki_inputs_become_date_ranges(text, start, end, precision):
    result = parse_birth_date(text, today=TODAY)
    assert (result.start, result.end, result.precision) == (start, end, precision)


@pytest.mark.parametrize(
    "text",
    ["", "昨日", "昭和64年1月8日", "平成31年5月1日", "S60.2.30", "1985-13-01", "2030-01-01", "令和20年",
     "1800", "x" * 100, "昭和0年", "S60.3.1.1", "<script>"],
)  # fmt: skip
def test_impossible_or_malformed_dates_get_a_japanese_error(text):
    with pytest.raises(BirthDateError) as excinfo:
        parse_birth_date(text, today=TODAY)
    assert not excinfo.value.message.isascii()


@given(st.dates(min_value=D(1868, 1, 25), max_value=TODAY))
def test_a_date_printed_in_wareki_parses_back_to_itself(day):
    result = parse_birth_date(to_wareki(day), today=TODAY)
    assert result.start == result.end == day


def test_the_first_year_of_an_era_prints_as_gannen():
    assert to_wareki(D(1989, 1, 8)) == "平成元年1月8日"
    assert to_wareki(D(1989, 1, 7)) == "昭和64年1月7日"
