"""The one rule for short operator-typed texts (jukinet.text_input.clean_line)."""

import pytest

from jukinet.errors import InvalidInput
from jukinet.text_input import clean_line


def _clean(value, **kwargs):
    return clean_line(value, label="理由", field="reason", limit=10, code="E_TEST", **kwargs)


def test_a_line_is_trimmed_and_kept():
    assert _clean("  監査資料  ") == "監査資料"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "理由を入力してください。"),
        ("   ", "理由を入力してください。"),
        (None, "理由を入力してください。"),
        (12, "理由を入力してください。"),
        ("あ" * 11, "理由は10文字以内で入力してください。"),
        ("改\n行", "理由に改行・制御文字は使えません。"),
        ("N\x00UL", "理由に改行・制御文字は使えません。"),
        ("a\u202eb", "理由に改行・制御文字は使えません。"),
        ("ゼロ\u200b幅", "理由に改行・制御文字は使えません。"),
    ],
    ids=["empty", "blank", "none", "not-text", "long", "newline", "nul", "bidi", "zero-width"],
)
def test_bad_text_is_refused_with_the_label_the_field_and_the_code(value, message):
    with pytest.raises(InvalidInput) as refused:
        _clean(value)
    assert refused.value.message == message and refused.value.code == "E_TEST" and refused.value.field == "reason"


def test_an_optional_text_may_be_empty_but_not_bad():
    assert _clean("", required=False) == ""
    with pytest.raises(InvalidInput):
        _clean("a\x07", required=False)
