import csv
import pickle
import random
from pathlib import Path

import pytest

from jukinet.codes import (
    CodeError,
    DjangoCodeValidator,
    generate_juminhyo_code,
    generate_lg_code,
    generate_my_number,
    is_valid_juminhyo_code,
    is_valid_lg_code,
    is_valid_my_number,
    juminhyo_code_check_digit,
    lg_code_check_digit,
    make_django_validator,
    my_number_check_digit,
    my_number_validator,
    validate_juminhyo_code,
    validate_lg_code,
    validate_my_number,
)

MUNICIPALITIES_CSV = Path(__file__).resolve().parents[1] / "jukinet" / "data" / "saitama_municipalities.csv"


def _municipalities() -> list[dict[str, str]]:
    with MUNICIPALITIES_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _with_wrong_check_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# (validate function, prefix of its error codes, a valid value)
KINDS = [
    pytest.param(validate_my_number, "E_MY_NUMBER", "983205673214", id="my_number"),
    pytest.param(validate_lg_code, "E_LG_CODE", "111007", id="lg_code"),
    pytest.param(validate_juminhyo_code, "E_JUMINHYO_CODE", "24727059608", id="juminhyo_code"),
]


# --- 個人番号 -----------------------------------------------------------------------


@pytest.mark.parametrize("my_number", ["983205673214", "621498320257"])
def test_the_published_example_my_numbers_are_valid(my_number):
    assert validate_my_number(my_number) == my_number
    assert is_valid_my_number(my_number)
    assert my_number_check_digit(my_number[:11]) == my_number[-1]


def test_a_my_number_check_digit_is_zero_when_the_remainder_is_zero_or_one():
    # Σ P_n Q_n = 0 → remainder 0; "00000000001" → P_1=1, Q_1=2 → remainder 2 → 9;
    # "00000100000" → P_6=1, Q_6=7 → 7 → 4; "00000000050" → P_2=5, Q_2=3 → 15 → remainder 4 → 7.
    assert my_number_check_digit("00000000000") == "0"
    assert my_number_check_digit("00000000001") == "9"
    assert my_number_check_digit("00000100000") == "4"
    assert my_number_check_digit("00000000050") == "7"
    # Q_7 = 2 (n−5): a 6 in the 7th digit from the right gives 12 → remainder 1 → 0.
    assert my_number_check_digit("00006000000") == "0"


def test_a_my_number_with_a_wrong_check_digit_is_refused_with_its_own_code():
    with pytest.raises(CodeError) as caught:
        validate_my_number(_with_wrong_check_digit("983205673214"))
    assert caught.value.code == "E_MY_NUMBER_CHECK_DIGIT"
    assert caught.value.message == "個人番号の検査用数字が正しくありません。入力内容を確認してください。"


def test_a_full_width_my_number_is_refused_with_its_own_code():
    with pytest.raises(CodeError) as caught:
        validate_my_number("９８３２０５６７３２１４")
    assert caught.value.code == "E_MY_NUMBER_FULLWIDTH"
    assert "半角数字" in caught.value.message


def test_a_my_number_of_the_wrong_length_asks_for_twelve_digits():
    with pytest.raises(CodeError) as caught:
        validate_my_number("98320567321")
    assert caught.value.code == "E_MY_NUMBER_LENGTH"
    assert caught.value.message == "個人番号は12桁の半角数字で入力してください。"


def test_generated_my_numbers_are_valid():
    rng = random.Random(20240101)
    numbers = [generate_my_number(rng) for _ in range(2000)]
    assert all(len(n) == 12 and validate_my_number(n) == n for n in numbers)
    # Every check digit occurs, 0 about twice as often as the others (remainders 0 and 1).
    assert {n[-1] for n in numbers} == set("0123456789")


# --- 全国地方公共団体コード --------------------------------------------------------------


def test_every_saitama_municipality_code_is_valid():
    rows = _municipalities()
    assert len(rows) == 73
    for row in rows:
        assert validate_lg_code(row["code6"]) == row["code6"], row["name"]
        assert row["code5"] + lg_code_check_digit(row["code5"]) == row["code6"], row["name"]
        assert generate_lg_code(row["code5"]) == row["code6"]


def test_an_lg_code_check_digit_maps_remainder_zero_to_one_and_one_to_zero():
    # 埼玉県 11000: 6+5 = 11 → remainder 0 → 11 → "1".
    assert lg_code_check_digit("11000") == "1"
    # 10000: 6 → remainder 6 → 5; 20000: 12 → remainder 1 → 10 → "0".
    assert lg_code_check_digit("10000") == "5"
    assert lg_code_check_digit("20000") == "0"


def test_an_lg_code_with_a_wrong_check_digit_is_refused():
    assert not is_valid_lg_code("111008")
    with pytest.raises(CodeError) as caught:
        validate_lg_code("111008")
    assert caught.value.code == "E_LG_CODE_CHECK_DIGIT"


def test_a_five_digit_lg_code_is_refused_for_its_length():
    with pytest.raises(CodeError) as caught:
        validate_lg_code("11100")
    assert caught.value.code == "E_LG_CODE_LENGTH"


# --- 住民票コード ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["24727059608", "24846016224", "25208017643"])
def test_published_sample_juminhyo_codes_agree_with_the_assumed_formula(code):
    assert validate_juminhyo_code(code) == code
    assert juminhyo_code_check_digit(code[:10]) == code[-1]


def test_the_juminhyo_code_formula_is_the_my_number_formula_cut_at_ten_digits():
    rng = random.Random(7)
    for _ in range(500):
        first10 = f"{rng.randrange(10**10):010d}"
        # With an 11th digit of 0 in front the 個人番号 weights reduce to the 住民票コード ones.
        assert juminhyo_code_check_digit(first10) == my_number_check_digit("0" + first10)


def test_generated_juminhyo_codes_are_valid_and_follow_the_seed():
    codes = [generate_juminhyo_code(random.Random(42)) for _ in range(3)]
    assert len(set(codes)) == 1, "the same seed gives the same code"
    rng = random.Random(42)
    generated = [generate_juminhyo_code(rng) for _ in range(2000)]
    assert all(len(c) == 11 and is_valid_juminhyo_code(c) for c in generated)


def test_a_juminhyo_code_with_a_wrong_check_digit_is_refused():
    with pytest.raises(CodeError) as caught:
        validate_juminhyo_code("24727059609")
    assert caught.value.code == "E_JUMINHYO_CODE_CHECK_DIGIT"


# --- input rules shared by all three ----------------------------------------------------


@pytest.mark.parametrize(("validate", "prefix", "valid"), KINDS)
def test_surrounding_ascii_whitespace_is_stripped_and_nothing_else(validate, prefix, valid):
    assert validate(f"  {valid}\t\n") == valid
    with pytest.raises(CodeError) as caught:
        validate(f"\u3000{valid}")  # a full-width space is not forgiven
    assert caught.value.code == f"{prefix}_NOT_DIGITS"


@pytest.mark.parametrize(("validate", "prefix", "valid"), KINDS)
@pytest.mark.parametrize(
    ("make_bad", "suffix"),
    [
        pytest.param(lambda v: None, "REQUIRED", id="none"),
        pytest.param(lambda v: "", "REQUIRED", id="empty"),
        pytest.param(lambda v: "   ", "REQUIRED", id="blank"),
        pytest.param(lambda v: int(v), "TYPE", id="int"),
        pytest.param(lambda v: v.encode(), "TYPE", id="bytes"),
        pytest.param(lambda v: list(v), "TYPE", id="list"),
        pytest.param(
            lambda v: v.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "FULLWIDTH", id="fullwidth"
        ),
        pytest.param(lambda v: v[:-1] + "９", "FULLWIDTH", id="one-fullwidth-digit"),
        pytest.param(lambda v: v[:4] + "-" + v[4:], "NOT_DIGITS", id="hyphen"),
        pytest.param(lambda v: v[:4] + " " + v[4:], "NOT_DIGITS", id="inner-space"),
        pytest.param(lambda v: v[:-1] + "a", "NOT_DIGITS", id="letter"),
        pytest.param(lambda v: v[:-1] + "٣", "NOT_DIGITS", id="arabic-indic-digit"),
        pytest.param(lambda v: v[:-1] + "²", "NOT_DIGITS", id="superscript-digit"),
        pytest.param(lambda v: v[:-1], "LENGTH", id="too-short"),
        pytest.param(lambda v: v + "0", "LENGTH", id="too-long"),
        pytest.param(_with_wrong_check_digit, "CHECK_DIGIT", id="check-digit"),
    ],
)
def test_each_kind_of_bad_input_is_refused_with_its_own_stable_code(validate, prefix, valid, make_bad, suffix):
    with pytest.raises(CodeError) as caught:
        validate(make_bad(valid))
    assert caught.value.code == f"{prefix}_{suffix}"
    assert caught.value.message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("validate", "prefix", "valid"), KINDS)
def test_is_valid_answers_without_raising(validate, prefix, valid):
    is_valid = {
        validate_my_number: is_valid_my_number,
        validate_lg_code: is_valid_lg_code,
        validate_juminhyo_code: is_valid_juminhyo_code,
    }[validate]
    assert is_valid(valid)
    for bad in (None, 123, "", "x" * len(valid), _with_wrong_check_digit(valid), "０" + valid[1:]):
        assert not is_valid(bad)


@pytest.mark.parametrize(("validate", "prefix", "valid"), KINDS)
@pytest.mark.parametrize(
    "make_bad",
    [
        _with_wrong_check_digit,
        lambda v: v[:-1],
        lambda v: v + "9",
        lambda v: v[:5] + "x" + v[6:],
        lambda v: v.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        lambda v: int(v),
    ],
)
def test_a_code_error_never_contains_the_refused_value(validate, prefix, valid, make_bad):
    bad = make_bad(valid)
    with pytest.raises(CodeError) as caught:
        validate(bad)
    error = caught.value
    texts = [str(error), repr(error), error.message, error.code, *map(str, error.args)]
    digits_of_bad = "".join(c for c in str(bad) if c.isdigit())
    for text in texts:
        assert str(bad) not in text
        assert valid[:6] not in text  # no recognisable run of the value's digits either
        assert digits_of_bad[:6] not in text
    # Nothing chained: a traceback would print a chained exception's text too.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_the_check_digit_functions_refuse_bad_input_without_echoing_it():
    for fn, length in ((my_number_check_digit, 11), (lg_code_check_digit, 5), (juminhyo_code_check_digit, 10)):
        for bad in ("9" * (length - 1), "９" * length, "9" * (length + 1), None, 1234):
            with pytest.raises(ValueError) as caught:
                fn(bad)
            assert "999" not in str(caught.value)
            assert "1234" not in str(caught.value)


def test_a_code_error_survives_pickling_with_code_and_message():
    error = CodeError("E_MY_NUMBER_LENGTH", "個人番号は12桁の半角数字で入力してください。")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, made one line above
    assert (copy.code, copy.message, str(copy)) == (error.code, error.message, str(error))


# --- Django adapter ---------------------------------------------------------------------


def test_the_django_validator_raises_a_validation_error_with_message_and_code():
    from django.core.exceptions import ValidationError

    validator = make_django_validator(validate_my_number)
    validator("983205673214")  # valid: no exception
    with pytest.raises(ValidationError) as caught:
        validator("９８３２０５６７３２１４")
    assert caught.value.code == "E_MY_NUMBER_FULLWIDTH"
    assert caught.value.messages == ["個人番号は半角数字で入力してください（全角数字が含まれています）。"]
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_django_validator_can_be_written_into_a_migration():
    validator = make_django_validator(validate_my_number)
    assert validator == my_number_validator
    assert validator != make_django_validator(validate_lg_code)
    path, args, kwargs = validator.deconstruct()
    assert path == "jukinet.codes.DjangoCodeValidator"
    assert args == (validate_my_number,)
    assert kwargs == {}
    assert isinstance(validator, DjangoCodeValidator)


def test_codes_is_importable_without_django_settings():
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.environ.pop('DJANGO_SETTINGS_MODULE', None); "
            "import jukinet.codes as c; print(c.is_valid_my_number('983205673214'))",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
