"""機構への照会: an operator asks the national server (全国サーバ for ``honnin``, 附票全国サーバ
for ``fuhyo``) by 住民票コード, by 個人番号 (``honnin`` only) or by 4情報 (docs/national-query.md).

Only a 業務担当者 (action ``national.query``) with the file among their duties may ask. The input
is checked here as strictly as the national side would check it, so a mistake is answered in
Japanese next to its field without a round trip, and the national side only ever sees a
well-formed query. Every query that reached the national server is logged, and so is every
refusal of the operator; the log records the kind of key, the number of results and the
operator's reference, never the 個人番号 and never a name.

No database transaction is held across the national call (up to NATIONAL_TIMEOUT_SECONDS):
the only write is the log entry, one INSERT after the answer arrived, so there is nothing to
keep atomic with it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from audit import access_log
from audit.models import AccessLogEntry, FileDuty, Operator
from audit.permissions import ensure_permitted
from jukinet import national_client
from jukinet.codes import CodeError, validate_juminhyo_code, validate_my_number
from jukinet.errors import DomainError, InvalidInput, PermissionRefused
from jukinet.kana import seion_key
from jukinet.purposes import REFERENCE_MAX_LENGTH, Purpose
from jukinet.wareki import BirthDateError, parse_birth_date

ACTION = "national.query"
FILES = national_client.FILES
KINDS = {"juminhyo_code": "住民票コード", "my_number": "個人番号", "four_info": "4情報"}
SERVER_NAMES = {"honnin": "全国サーバ", "fuhyo": "附票全国サーバ"}
NAME_MAX_LENGTH = 120  # the national records' columns (漢字氏名・ふりがな氏名)
ADDRESS_MAX_LENGTH = 255
# What a result may carry to the page: the national side adds "my_number" only when asked (we
# never ask), and anything else it might add is not shown either.
RESULT_KEYS = ("juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on")

# Besides letters, combining marks and spaces: what names and addresses are written with. A
# name holds no "=", ";", "(" or "<": text like「' OR 1=1 --」is a mistake, not a name.
_NAME_SYMBOLS = frozenset("・･ー－‐-‑'’.．,，、")
_ADDRESS_SYMBOLS = _NAME_SYMBOLS | frozenset("−―／/()（）#＃")
_KATAKANA = frozenset(chr(c) for c in range(0x30A1, 0x30FB)) | {"ヽ", "ヾ"}


class NationalQueryUnavailable(DomainError):
    """The national server did not answer (down, timeout, TLS, 5xx, a malformed answer)."""

    code = "E_NATIONAL_UNAVAILABLE"
    status = 503
    message = "全国サーバに接続できません。時間をおいて再度照会してください。"


class NationalQueryRejected(DomainError):
    """The national server refused the query itself (4xx): its own Japanese message."""

    code = "E_NATIONAL_REJECTED"
    status = 400
    message = "全国サーバが照会を受け付けませんでした。入力内容を確認してください。"


@dataclass(frozen=True)
class NationalAnswer:
    results: list[dict] = field(default_factory=list)
    truncated: bool = False


# --- Who may ask ------------------------------------------------------------------------------


def ensure_may_query(*, operator: Operator, file: str) -> None:
    """The role (業務担当者) and the file duty; a refusal is logged and raised as PermissionRefused."""
    try:
        ensure_permitted(operator, ACTION)
    except PermissionRefused:
        access_log.log_refusal(action=ACTION, target_file=file, detail="権限なし: 機構への照会")
        raise
    if file not in (operator.duties or []):
        access_log.log_refusal(action=ACTION, target_file=file, detail=f"担当外のファイル: {file}")
        raise PermissionRefused(
            f"{FileDuty(file).label}の担当ではないため、{SERVER_NAMES[file]}へは照会できません。",
            code="E_FILE_DUTY",
        )


# --- Input ------------------------------------------------------------------------------------


def _category_refused(ch: str) -> bool:
    # Control, format (zero-width, bidi overrides) and lone surrogates: hide or garble text.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _text(value: object, *, field_name: str, label: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}は文字で入力してください。", field=field_name)
    if any(_category_refused(ch) for ch in value):
        raise InvalidInput(f"{label}に改行・タブ・制御文字は使えません。", field=field_name)
    value = value.strip()  # str.strip() takes the full-width space too
    if len(value) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。", field=field_name)
    return value


def _written_with(value: str, symbols: frozenset[str], *, digits: bool) -> bool:
    for ch in value:
        category = unicodedata.category(ch)
        # Nl: 〇 and its kin are written in names and addresses.
        if category[0] in "LM" or category in ("Zs", "Nl") or ch in symbols or (digits and category == "Nd"):
            continue
        return False
    return True


# The files store an address's digits and Latin letters in full width (「本町１丁目」); the national
# side matches the address as a prefix of what it stores, so typed half-width ones are aligned.
_FULL_WIDTH_ALNUM = str.maketrans(
    {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
)


def _purpose(purpose: object) -> str:
    if purpose not in Purpose.values:
        raise InvalidInput("照会の目的（事務）を選択してください。", code="E_PURPOSE", field="purpose")
    return str(purpose)


def _reference(reference: object) -> str:
    return _text(reference, field_name="reference", label="受付番号・照会文書番号", max_length=REFERENCE_MAX_LENGTH)


def _code(validate, value: object, field_name: str) -> str:
    try:
        return validate(value)
    except CodeError as exc:  # its message never holds the value
        raise InvalidInput(exc.message, code=exc.code, field=field_name) from None


def _birth_date(text: str) -> dt.date:
    try:
        day = parse_birth_date(text)
    except BirthDateError as exc:
        raise InvalidInput(exc.message, code=exc.code, field="birth_date") from None
    if day.precision != "day":
        raise InvalidInput(
            "全国サーバへの照会では、生年月日を日まで入力してください（例: 昭和60年3月1日、1985-03-01）。",
            code="E_BIRTH_DATE_PRECISION",
            field="birth_date",
        )
    return day.start


def four_info_payload(four_info: dict | None) -> dict:
    """4情報 as the national side takes them: a name plus at least one of birth date, sex, address."""
    info = four_info if isinstance(four_info, dict) else {}
    name_kana = _text(info.get("name_kana"), field_name="name_kana", label="ふりがな氏名", max_length=NAME_MAX_LENGTH)
    name = _text(info.get("name"), field_name="name", label="漢字氏名", max_length=NAME_MAX_LENGTH)
    birth_text = _text(info.get("birth_date"), field_name="birth_date", label="生年月日", max_length=20)
    sex = _text(info.get("sex"), field_name="sex", label="性別", max_length=1)
    address = _text(info.get("address"), field_name="address", label="住所", max_length=ADDRESS_MAX_LENGTH)

    payload: dict[str, str] = {}
    if name_kana:
        key = seion_key(name_kana)
        if not key or not set(key) <= _KATAKANA:
            raise InvalidInput(
                "ふりがな氏名はひらがなまたはカタカナで入力してください。", code="E_FOUR_INFO", field="name_kana"
            )
        payload["name_kana"] = name_kana
    if name:
        if not _written_with(name, _NAME_SYMBOLS, digits=False):
            raise InvalidInput(
                "漢字氏名に使えない文字（数字や「=」「;」「(」などの記号）が含まれています。",
                code="E_FOUR_INFO",
                field="name",
            )
        payload["name"] = name
    if not payload:
        raise InvalidInput(
            "4情報による照会では、氏名（ふりがなまたは漢字）を入力してください。",
            code="E_FOUR_INFO_TOO_BROAD",
            field="name_kana",
        )
    if birth_text:
        payload["birth_date"] = _birth_date(birth_text).isoformat()
    if sex:
        if sex not in ("1", "2"):
            raise InvalidInput("性別は「男」または「女」を選択してください。", code="E_FOUR_INFO", field="sex")
        payload["sex"] = sex
    if address:
        if not _written_with(address, _ADDRESS_SYMBOLS, digits=True):
            raise InvalidInput(
                "住所に使えない文字（「=」「;」「<」などの記号）が含まれています。", code="E_FOUR_INFO", field="address"
            )
        payload["address"] = address.translate(_FULL_WIDTH_ALNUM)
    if not payload.keys() & {"birth_date", "sex", "address"}:
        raise InvalidInput(
            "4情報による照会では、氏名のほかに生年月日・性別・住所のいずれかを入力してください。",
            code="E_FOUR_INFO_TOO_BROAD",
        )
    return payload


def _payload(*, file: str, by: str, juminhyo_code: str, my_number: str, four_info: dict | None) -> dict:
    if by not in KINDS:
        raise InvalidInput("照会の方法を選択してください。", code="E_QUERY_BY", field="by")
    if by == "my_number" and file != "honnin":
        raise InvalidInput("附票全国サーバには個人番号で照会できません。", code="E_MY_NUMBER_NOT_ALLOWED", field="by")
    payload: dict = {"by": by, "include_my_number": False}
    if by == "juminhyo_code":
        payload["juminhyo_code"] = _code(validate_juminhyo_code, juminhyo_code, "juminhyo_code")
    elif by == "my_number":
        payload["my_number"] = _code(validate_my_number, my_number, "my_number")
    else:
        payload["four_info"] = four_info_payload(four_info)
    return payload


# --- The answer -------------------------------------------------------------------------------


def _answer(body: dict) -> NationalAnswer:
    results = body.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise national_client.NationalUnavailable("malformed answer (no results list)")
    return NationalAnswer(
        results=[{key: r.get(key) for key in RESULT_KEYS} for r in results],
        truncated=body.get("truncated") is True,
    )


def _field_of(code: str) -> str | None:
    for prefix, name in (("E_JUMINHYO_CODE", "juminhyo_code"), ("E_MY_NUMBER", "my_number"), ("E_QUERY_BY", "by")):
        if code.startswith(prefix):
            return name
    return None


def national_query(
    *,
    operator: Operator,
    file: str,
    by: str,
    purpose: str,
    reference: str,
    juminhyo_code: str = "",
    my_number: str = "",
    four_info: dict | None = None,
) -> NationalAnswer:
    """Ask the national server of ``file`` and log the query.

    Raises PermissionRefused (403, logged), InvalidInput (400; nothing was sent),
    NationalQueryRejected (400, logged) or NationalQueryUnavailable (503, logged).
    """
    if file not in FILES:
        raise InvalidInput("照会先のファイルが正しくありません。", code="E_FILE")
    ensure_may_query(operator=operator, file=file)
    duty = _purpose(purpose)
    reference = _reference(reference)
    payload = _payload(file=file, by=by, juminhyo_code=juminhyo_code, my_number=my_number, four_info=four_info)

    target_code = payload.get("juminhyo_code", "")
    kind = KINDS[by]
    note = f" 参照={reference}" if reference else ""
    try:
        answer = _answer(national_client.query(file, payload))
    except national_client.NationalUnavailable as exc:
        # exc.reason is the client's short reason (timeout, HTTP 503 …): never the payload.
        access_log.log_event(
            action=ACTION,
            outcome=AccessLogEntry.Outcome.ERROR,
            target_file=file,
            target_code=target_code,
            duty=duty,
            detail=f"{kind}による照会 {SERVER_NAMES[file]}に接続できず ({exc.reason}){note}",
        )
        raise NationalQueryUnavailable(
            f"{SERVER_NAMES[file]}に接続できません。時間をおいて再度照会してください。"
        ) from None
    except national_client.NationalRejected as exc:
        access_log.log_refusal(
            action=ACTION,
            target_file=file,
            target_code=target_code,
            duty=duty,
            detail=f"{kind}による照会 {SERVER_NAMES[file]}が拒否 HTTP {exc.status} {exc.code}{note}",
        )
        # The national side's messages are generic (they never quote the payload).
        raise NationalQueryRejected(exc.message or None, code=exc.code, field=_field_of(exc.code)) from None

    query = access_log.log_event(
        action=ACTION,
        target_file=file,
        target_code=target_code,
        duty=duty,
        detail=(f"{kind}による照会 {len(answer.results)}件{'（打切り）' if answer.truncated else ''}{note}"),
    )
    # Each person the answer shows is an entry of its own, as a record view is: a review can
    # then ask who looked at a given 住民票コード, whatever the key of the query was.
    for person in answer.results:
        access_log.log_event(
            action=f"{ACTION}.result",
            target_file=file,
            target_code=str(person.get("juminhyo_code", ""))[:11],
            duty=duty,
            detail=f"照会記録 #{query.pk} の回答",
        )
    return answer
