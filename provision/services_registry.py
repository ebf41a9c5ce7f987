"""The duty registry (事務) and the duties each executive body or department may ask for.

Only a system administrator (``duty.manage``) registers and changes duties and gives a machine
client its permitted duties (issue 6 item 1). Every function authorises first (a refusal is
logged outside any transaction, so it survives), validates with a Japanese message naming the
field, then writes and logs in one transaction. The access-log detail says what changed, old →
new; there is no personal data in a duty. django-auditlog keeps the field-level history of
Duty and MachineClient besides (provision/apps.py, audit/apps.py).
"""

import re
import unicodedata
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from audit import access_log
from audit.models import ClientKind, IdentityState, MachineClient, Operator
from audit.permissions import ensure_permitted
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from provision.models import DUTY_CODE_PATTERN, FILES, Duty, LegalTable, ProvisionItem, duty_code_validator
from provision.selectors import duty_codes_unregistered

MANAGE = "duty.manage"
NAME_MAX = Duty._meta.get_field("name").max_length
LEGAL_BASIS_MAX = Duty._meta.get_field("legal_basis").max_length
RECIPIENT_MAX = Duty._meta.get_field("recipient").max_length
CODE_MAX = Duty._meta.get_field("code").max_length
FILE_VALUES = [value for value, _label in FILES]
_FILE_LABELS = dict(FILES)
_ITEM_LABELS = dict(ProvisionItem.choices)
_CODE = re.compile(DUTY_CODE_PATTERN)
_TABLE_ORDER = {table: n for n, table in enumerate(LegalTable.values)}
# What a change entry may show of one value: the log's detail holds 500 characters in all.
_DETAIL_VALUE_MAX = 60


def duty_sort_key(code: str) -> tuple:
    """5-2 before 5-10, 別表第五 before 第六 before 条例."""
    table, _, rest = code.partition("-")
    return (_TABLE_ORDER.get(table, 99), *(int(part) if part.isdigit() else 0 for part in rest.split("-")))


def _authorize(actor: Operator, *, log_action: str, target: str = "") -> None:
    try:
        ensure_permitted(actor, MANAGE)
    except PermissionRefused:
        access_log.log_refusal(action=log_action, target_code=target, detail=f"権限なし: {MANAGE}")
        raise


def _unreadable(value: str) -> bool:
    # Cc: control characters (tab, newline, NUL …); Cf: invisible format characters that reorder
    # or hide text (zero-width, bidi overrides); Cs: lone surrogates. A name must read as stored.
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in value)


def _line(value, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。", code="E_DUTY_FIELD", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。", code="E_DUTY_FIELD", field=field)
    if _unreadable(text):
        raise InvalidInput(f"{label}に改行・タブ・制御文字は使えません。", code="E_DUTY_FIELD", field=field)
    return text


def _choices(values, *, field: str, label: str, allowed: list[str]) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidInput(f"{label}の指定が正しくありません。", code="E_DUTY_FIELD", field=field)
    chosen = [str(v) for v in values]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise InvalidInput(f"{label}に指定できない値があります: {unknown[0][:20]}", code="E_DUTY_FIELD", field=field)
    if not chosen:
        raise InvalidInput(f"{label}を1つ以上選んでください。", code="E_DUTY_FIELD", field=field)
    return [v for v in allowed if v in chosen]  # the registry's own order, no repeats


def _clean_code(code) -> str:
    text = str(code if code is not None else "").strip()
    if not text:
        raise InvalidInput("事務コードを入力してください。", code="E_DUTY_CODE", field="code")
    if len(text) > CODE_MAX or not _CODE.fullmatch(text):
        raise InvalidInput(duty_code_validator.message, code="E_DUTY_CODE", field="code")
    return text


def _clean_fields(
    *,
    name,
    legal_basis,
    recipient,
    files,
    items,
    my_number_allowed,
    active,
) -> dict:
    cleaned = {
        "name": _line(name, field="name", label="事務の名称", max_length=NAME_MAX),
        "legal_basis": _line(legal_basis, field="legal_basis", label="法令上の根拠", max_length=LEGAL_BASIS_MAX),
        "recipient": _line(
            recipient, field="recipient", label="主な提供・移転先", max_length=RECIPIENT_MAX, required=False
        ),
        "files": _choices(files, field="files", label="対象ファイル", allowed=FILE_VALUES),
        "items": _choices(items, field="items", label="提供できる項目", allowed=ProvisionItem.values),
    }
    if ProvisionItem.JUMINHYO_CODE not in cleaned["items"]:
        raise InvalidInput("提供できる項目には住民票コードを必ず含めてください。", code="E_DUTY_FIELD", field="items")
    if not isinstance(my_number_allowed, bool):
        raise InvalidInput("個人番号の提供の指定が正しくありません。", code="E_DUTY_FIELD", field="my_number_allowed")
    if not isinstance(active, bool):
        raise InvalidInput("有効・無効の指定が正しくありません。", code="E_DUTY_FIELD", field="active")
    cleaned["my_number_allowed"] = my_number_allowed
    cleaned["active"] = active
    return cleaned


def _shown(field: str, value) -> str:
    """A value as the change detail shows it (labels, not raw codes; truncated)."""
    if field == "files":
        text = "・".join(_FILE_LABELS.get(v, v) for v in value)
    elif field == "items":
        text = "・".join(_ITEM_LABELS.get(v, v) for v in value)
    elif field == "my_number_allowed":
        text = "可" if value else "不可"
    elif field == "active":
        text = "有効" if value else "無効"
    else:
        text = str(value) or "（なし）"
    return text if len(text) <= _DETAIL_VALUE_MAX else text[: _DETAIL_VALUE_MAX - 1] + "…"


_FIELD_LABELS = {
    "name": "名称",
    "legal_basis": "根拠",
    "recipient": "提供・移転先",
    "files": "ファイル",
    "items": "項目",
    "my_number_allowed": "個人番号",
    "active": "状態",
}


def duty_create(
    *,
    actor: Operator,
    code: str,
    name: str,
    legal_basis: str,
    recipient: str = "",
    files: list[str],
    items: list[str],
    my_number_allowed: bool = False,
    active: bool = True,
) -> Duty:
    """Register a duty. Its code (表-番号) is fixed from now on: clients and records refer to it."""
    _authorize(actor, log_action="duty.create", target=str(code)[:40])
    cleaned_code = _clean_code(code)
    cleaned = _clean_fields(
        name=name,
        legal_basis=legal_basis,
        recipient=recipient,
        files=files,
        items=items,
        my_number_allowed=my_number_allowed,
        active=active,
    )
    taken = InvalidInput("この事務コードは既に登録されています。", code="E_DUTY_CODE_TAKEN", field="code")
    if Duty.objects.filter(code=cleaned_code).exists():
        raise taken
    try:
        with transaction.atomic():
            duty = Duty.objects.create(code=cleaned_code, **cleaned)
            summary = [
                duty.table_label(),
                _shown("files", duty.files),
                f"個人番号{_shown('my_number_allowed', duty.my_number_allowed)}",
            ]
            access_log.log_event(action="duty.create", target_code=duty.code, duty=duty.code, detail=" ".join(summary))
    except IntegrityError:
        # Two administrators registering one code at once: the unique index decides.
        raise taken from None
    return duty


def duty_update(
    *,
    actor: Operator,
    code: str,
    name: str,
    legal_basis: str,
    recipient: str,
    files: list[str],
    items: list[str],
    my_number_allowed: bool,
    active: bool,
) -> Duty:
    """Change a duty's particulars (never its code). Nothing changed is an input error, not a no-op log."""
    _authorize(actor, log_action="duty.update", target=str(code)[:40])
    cleaned = _clean_fields(
        name=name,
        legal_basis=legal_basis,
        recipient=recipient,
        files=files,
        items=items,
        my_number_allowed=my_number_allowed,
        active=active,
    )
    with transaction.atomic():
        duty = Duty.objects.select_for_update().filter(code=str(code)).first()
        if duty is None:
            raise NotFound("事務が見つかりません。", code="E_DUTY_NOT_FOUND", field="code")
        changes = [
            (field, getattr(duty, field), value) for field, value in cleaned.items() if getattr(duty, field) != value
        ]
        if not changes:
            raise InvalidInput("変更された項目がありません。", code="E_NO_CHANGE")
        for field, _old, value in changes:
            setattr(duty, field, value)
        # save() (not QuerySet.update) so that django-auditlog's signal records the fields.
        duty.save(update_fields=[field for field, _old, _new in changes] + ["updated_at"])
        access_log.log_event(
            action="duty.update",
            target_code=duty.code,
            duty=duty.code,
            detail="; ".join(
                f"{_FIELD_LABELS[field]}: {_shown(field, old)} → {_shown(field, new)}" for field, old, new in changes
            ),
        )
    return duty


def client_duties_set(*, actor: Operator, client: MachineClient | str, codes: list[str]) -> MachineClient:
    """Give an executive body or department exactly these duties (registered and active ones only).

    A 市町村CS has no duties (the database constraint on MachineClient says so too); a revoked
    client's grants stay as they were when it was revoked.
    """
    client_id = client if isinstance(client, str) else client.client_id
    _authorize(actor, log_action="client.duties", target=client_id[:40])
    if isinstance(codes, str) or not isinstance(codes, Iterable):
        raise InvalidInput("事務コードの指定が正しくありません。", code="E_DUTY_CODES", field="codes")
    wanted = sorted({str(c).strip() for c in codes}, key=duty_sort_key)
    with transaction.atomic():
        target = MachineClient.objects.select_for_update().filter(client_id=client_id).first()
        if target is None:
            raise NotFound("機械クライアントが見つかりません。", code="E_CLIENT_NOT_FOUND", field="client_id")
        if target.kind != ClientKind.BODY:
            raise InvalidInput(
                "市町村CSには事務を許可できません（事務を持つのは執行機関・部署だけです）。",
                code="E_CLIENT_KIND",
                field="codes",
            )
        if target.state == IdentityState.REVOKED:
            raise Conflict("失効した機械クライアントの事務は変更できません。", code="E_CLIENT_REVOKED")
        # The same rule as issuing a client (audit.services): active duties of the registry only.
        unusable = duty_codes_unregistered(wanted)
        if unusable:
            raise InvalidInput(
                f"登録されていないか無効な事務コードです: {unusable[0][:20]}", code="E_DUTY_UNKNOWN", field="codes"
            )
        old = list(target.duty_codes)
        if set(old) == set(wanted):
            raise InvalidInput("変更された項目がありません。", code="E_NO_CHANGE")
        target.duty_codes = wanted
        target.save(update_fields=["duty_codes"])
        added = [c for c in wanted if c not in old]
        removed = [c for c in old if c not in wanted]
        access_log.log_event(
            action="client.duties",
            target_code=target.client_id,
            detail=(
                f"事務: {', '.join(old) or '（なし）'} → {', '.join(wanted) or '（なし）'}"
                f"（追加: {', '.join(added) or 'なし'} 削除: {', '.join(removed) or 'なし'}）"
            ),
        )
    return target
