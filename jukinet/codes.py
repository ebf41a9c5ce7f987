"""Identifiers with check digits: 個人番号, 全国地方公共団体コード, 住民票コード.

Models, forms, the API and the synthetic data generator all validate through this module,
so one input reaches one verdict everywhere.

Input rules, the same for every identifier:

* only a ``str`` is accepted (an ``int`` would silently lose leading zeros);
* surrounding ASCII whitespace is stripped, and nothing else is changed silently;
* full-width digits, other characters, a wrong length and a wrong check digit are each
  refused with their own stable ``E_…`` code and a Japanese message.

A :class:`CodeError` never carries the offending value: a 個人番号 must not reach an
exception text, a log line or an error response (番号法 restricts where it may be kept).

Sources of the check-digit formulas:

* 個人番号: 行政手続における特定の個人を識別するための番号の利用等に関する法律の規定による
  通知カード及び個人番号カード並びに情報提供ネットワークシステムによる特定個人情報の提供等に
  関する省令（平成26年総務省令第85号）第5条.
* 全国地方公共団体コード: introduced by 自治省 in 1968, now kept by 総務省; the first five
  digits are the JIS X 0401 都道府県コード and the JIS X 0402 市区町村コード, the sixth is the
  検査数字 (JIS X 0402's term), mod 11 with weights 6,5,4,3,2. The tests check the formula
  against every Saitama municipality in the published list.
* 住民票コード: 住民基本台帳法施行規則第1条第2号, formula set by 平成14年総務省告示第436号;
  see :func:`juminhyo_code_check_digit` for what is and is not confirmed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from operator import mul
from typing import Any

__all__ = [
    "CodeError",
    "DjangoCodeValidator",
    "generate_juminhyo_code",
    "generate_lg_code",
    "generate_my_number",
    "is_valid_juminhyo_code",
    "is_valid_lg_code",
    "is_valid_my_number",
    "juminhyo_code_check_digit",
    "juminhyo_code_validator",
    "lg_code_check_digit",
    "lg_code_validator",
    "make_django_validator",
    "my_number_check_digit",
    "my_number_validator",
    "validate_juminhyo_code",
    "validate_lg_code",
    "validate_my_number",
]


class CodeError(ValueError):
    """A refused identifier: a stable ``code`` for programs and a Japanese ``message`` for people.

    ``str()``, ``repr()`` and ``args`` hold only the message and code, never the value.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CodeError(code={self.code!r})"

    def __reduce__(self):  # keep pickling (Celery results, multiprocessing) working with two arguments
        return (type(self), (self.code, self.message))


# Python's str.isdigit() also accepts full-width, superscript and other scripts' digits,
# so "digit" here always means ASCII 0-9.
_ASCII_DIGITS = frozenset("0123456789")
_FULLWIDTH_DIGITS = frozenset("０１２３４５６７８９")
# Only ASCII whitespace is forgiven; a full-width space around the value is an error like any other character.
_ASCII_WHITESPACE = " \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class _Spec:
    label: str  # Japanese name shown to the user
    prefix: str  # code prefix, e.g. E_MY_NUMBER
    length: int


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _require_digits(text: Any, length: int) -> None:
    # Internal misuse by a programmer, not user input: a plain message, still without the value.
    if not isinstance(text, str) or len(text) != length or not _is_ascii_digits(text):
        raise ValueError(f"{length}桁の半角数字の文字列を渡してください。")


def _check_digits_clean(value: Any, spec: _Spec) -> str:
    """Checks everything except the check digit; returns the stripped value."""
    if value is None:
        raise CodeError(f"{spec.prefix}_REQUIRED", f"{spec.label}を入力してください。")
    if not isinstance(value, str):
        raise CodeError(
            f"{spec.prefix}_TYPE",
            f"{spec.label}は{spec.length}桁の半角数字の文字列で指定してください。",
        )
    text = value.strip(_ASCII_WHITESPACE)
    if not text:
        raise CodeError(f"{spec.prefix}_REQUIRED", f"{spec.label}を入力してください。")
    if not _FULLWIDTH_DIGITS.isdisjoint(text):
        # Checked before the generic non-digit case so the user learns the one thing to change.
        raise CodeError(
            f"{spec.prefix}_FULLWIDTH",
            f"{spec.label}は半角数字で入力してください（全角数字が含まれています）。",
        )
    if not _is_ascii_digits(text):
        raise CodeError(
            f"{spec.prefix}_NOT_DIGITS",
            f"{spec.label}は半角数字だけで入力してください（ハイフン・空白などは含めないでください）。",
        )
    if len(text) != spec.length:
        raise CodeError(f"{spec.prefix}_LENGTH", f"{spec.label}は{spec.length}桁の半角数字で入力してください。")
    return text


def _validate(value: Any, spec: _Spec, check_digit: Callable[[str], str]) -> str:
    text = _check_digits_clean(value, spec)
    if check_digit(text[:-1]) != text[-1]:
        raise CodeError(
            f"{spec.prefix}_CHECK_DIGIT",
            f"{spec.label}の検査用数字が正しくありません。入力内容を確認してください。",
        )
    return text


def _is_valid(validate: Callable[[Any], str], value: Any) -> bool:
    try:
        validate(value)
    except CodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# 個人番号 (12 digits)
# ---------------------------------------------------------------------------------------

_MY_NUMBER = _Spec(label="個人番号", prefix="E_MY_NUMBER", length=12)
# Q_n for n = 1..11, n counted from the rightmost of the first 11 digits:
# n+1 for 1 <= n <= 6, n-5 for 7 <= n <= 11 (総務省令第85号 第5条).
_MY_NUMBER_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(1, 12))


def my_number_check_digit(first11: str) -> str:
    """検査用数字 of a 個人番号 (平成26年総務省令第85号 第5条).

    11 − (Σ P_n × Q_n mod 11), and 0 when the remainder is 0 or 1; P_n is the n-th digit
    counted from the right of the first 11 digits, Q_n = n+1 (1≤n≤6) or n−5 (7≤n≤11).
    """
    _require_digits(first11, 11)
    total = sum((ord(c) - 48) * q for c, q in zip(reversed(first11), _MY_NUMBER_WEIGHTS, strict=True))
    remainder = total % 11
    return "0" if remainder <= 1 else str(11 - remainder)


def validate_my_number(value: Any) -> str:
    """Returns the 12-digit 個人番号 or raises :class:`CodeError` (codes ``E_MY_NUMBER_*``)."""
    return _validate(value, _MY_NUMBER, my_number_check_digit)


def is_valid_my_number(value: Any) -> bool:
    return _is_valid(validate_my_number, value)


def generate_my_number(rng: random.Random) -> str:
    """A synthetic 個人番号 with a correct check digit.

    Real numbers are derived from the 住民票コード by 機構's undisclosed conversion; synthetic
    data only needs the shape and the check digit, so the 11 digits are drawn at random.
    """
    first11 = f"{rng.randrange(10**11):011d}"
    return first11 + my_number_check_digit(first11)


# ---------------------------------------------------------------------------------------
# 全国地方公共団体コード (6 digits)
# ---------------------------------------------------------------------------------------

_LG_CODE = _Spec(label="地方公共団体コード", prefix="E_LG_CODE", length=6)
_LG_CODE_WEIGHTS = (6, 5, 4, 3, 2)


def lg_code_check_digit(first5: str) -> str:
    """検査数字 of a 全国地方公共団体コード.

    For the first five digits abcde: the last digit of 11 − ((6a+5b+4c+3d+2e) mod 11),
    so a remainder of 0 gives "1" and a remainder of 1 gives "0".
    """
    _require_digits(first5, 5)
    total = sum((ord(c) - 48) * w for c, w in zip(first5, _LG_CODE_WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def validate_lg_code(value: Any) -> str:
    """Returns the 6-digit code or raises :class:`CodeError` (codes ``E_LG_CODE_*``)."""
    return _validate(value, _LG_CODE, lg_code_check_digit)


def is_valid_lg_code(value: Any) -> bool:
    return _is_valid(validate_lg_code, value)


def generate_lg_code(first5: str) -> str:
    """The 6-digit code for a 5-digit one (the form many open data sets publish)."""
    return first5 + lg_code_check_digit(first5)


# ---------------------------------------------------------------------------------------
# 住民票コード (11 digits)
# ---------------------------------------------------------------------------------------

_JUMINHYO_CODE = _Spec(label="住民票コード", prefix="E_JUMINHYO_CODE", length=11)
# Weights for n = 1..10 counted from the rightmost of the first 10 digits: 2..7 then 2..5,
# i.e. the 個人番号 rule Q_n (n+1 for n<=6, n-5 for n>=7) cut at ten digits.
_JUMINHYO_CODE_WEIGHTS = _MY_NUMBER_WEIGHTS[:10]


def juminhyo_code_check_digit(first10: str) -> str:
    """検査数字 of a 住民票コード — ASSUMED formula, pending confirmation against the 告示.

    Legal basis: 住民基本台帳法施行規則（平成11年自治省令第35号）第1条第2号 says the 11th
    digit is a 検査数字 computed by "総務大臣が定める算式"; that formula is
    「住民基本台帳法施行規則第一条第二号の規定に基づき、同号の総務大臣が定める算式を定める件」
    （平成14年総務省告示第436号, 官報 平成14年7月25日 p.6）. The text of that 告示 could not
    be obtained while writing this, so the formula below is an assumption:

        modulus 11, weights 2,3,4,5,6,7,2,3,4,5 applied from the rightmost of the first 10
        digits; check digit = 11 − (weighted sum mod 11), and 0 when the remainder is 0 or 1.

    It is the 個人番号 formula (総務省令第85号 第5条) cut at ten digits. Supporting evidence:
    the three distinct sample 住民票コード published with a 住民票 mock-up (GitHub
    masanork/srn, site/content/juminhyo.md: 24727059608, 24846016224, 25208017643) all
    satisfy it (chance agreement ≈ 1/1331). If the 告示 says otherwise, change only this
    function; everything else (validation, generation, tests of shape) follows.
    """
    _require_digits(first10, 10)
    total = sum((ord(c) - 48) * q for c, q in zip(reversed(first10), _JUMINHYO_CODE_WEIGHTS, strict=True))
    remainder = total % 11
    return "0" if remainder <= 1 else str(11 - remainder)


def validate_juminhyo_code(value: Any) -> str:
    """Returns the 11-digit 住民票コード or raises :class:`CodeError` (codes ``E_JUMINHYO_CODE_*``)."""
    return _validate(value, _JUMINHYO_CODE, juminhyo_code_check_digit)


def is_valid_juminhyo_code(value: Any) -> bool:
    return _is_valid(validate_juminhyo_code, value)


def generate_juminhyo_code(rng: random.Random) -> str:
    """A synthetic 住民票コード: ten random digits (施行規則第1条第1号) and the check digit.

    Uniqueness is the caller's business (the real pool is handed out by 機構).
    """
    first10 = f"{rng.randrange(10**10):010d}"
    return first10 + juminhyo_code_check_digit(first10)


# ---------------------------------------------------------------------------------------
# Django adapter
# ---------------------------------------------------------------------------------------


class DjangoCodeValidator:
    """A Django/DRF field validator around one of the ``validate_*`` functions.

    A class rather than a closure because model field validators end up in migrations,
    which can serialise an object with ``deconstruct()`` but not a nested function.
    Django is imported only when a value is validated, so this module stays importable
    without settings.
    """

    def __init__(self, validate_fn: Callable[[Any], str]) -> None:
        self.validate_fn = validate_fn

    def __call__(self, value: Any) -> None:
        from django.core.exceptions import ValidationError

        try:
            self.validate_fn(value)
        except CodeError as exc:
            # "from None": the chained context would only repeat the same message.
            raise ValidationError(exc.message, code=exc.code) from None

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return (f"{__name__}.{type(self).__name__}", (self.validate_fn,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DjangoCodeValidator) and other.validate_fn is self.validate_fn

    def __hash__(self) -> int:
        return hash(self.validate_fn)

    def __repr__(self) -> str:
        return f"DjangoCodeValidator({self.validate_fn.__name__})"


def make_django_validator(validate_fn: Callable[[Any], str]) -> DjangoCodeValidator:
    """Wraps ``validate_fn`` so that a :class:`CodeError` becomes ``ValidationError(message, code=code)``."""
    return DjangoCodeValidator(validate_fn)


my_number_validator = make_django_validator(validate_my_number)
lg_code_validator = make_django_validator(validate_lg_code)
juminhyo_code_validator = make_django_validator(validate_juminhyo_code)


# Bulk checks (整合性確認: a million rows): the check digits above computed on the bytes of a
# value already known to be ASCII digits of the right length, four times faster than the
# validators (a test holds the two to the same answers).
# 検査数字 = 11 − (Σ digit × weight mod 11), 0 for a remainder of 0 or 1.
_ASCII_ZERO = ord("0")
_JUMINHYO_BIAS = _ASCII_ZERO * sum(_JUMINHYO_CODE_WEIGHTS)
_MY_NUMBER_BIAS = _ASCII_ZERO * sum(_MY_NUMBER_WEIGHTS)


def juminhyo_code_digit_ok(value: str) -> bool:
    """An 11-digit ASCII 住民票コード (checked by the caller) with a correct check digit."""
    data = value.encode("ascii")
    remainder = (sum(map(mul, data[9::-1], _JUMINHYO_CODE_WEIGHTS)) - _JUMINHYO_BIAS) % 11
    return data[10] - _ASCII_ZERO == (0 if remainder <= 1 else 11 - remainder)


def my_number_digit_ok(value: str) -> bool:
    """A 12-digit ASCII 個人番号 (checked by the caller) with a correct check digit."""
    data = value.encode("ascii")
    remainder = (sum(map(mul, data[10::-1], _MY_NUMBER_WEIGHTS)) - _MY_NUMBER_BIAS) % 11
    return data[11] - _ASCII_ZERO == (0 if remainder <= 1 else 11 - remainder)
