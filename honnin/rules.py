"""The rules of the honnin file's update notices (docs/notice-rules.md has the table).

Format checks run when a notice arrives; logic checks run when the worker applies it
against the person's current row. Each rule has a stable code and a Japanese message.
"""

from honnin.models import ENTRY_REASONS, REMOVAL_REASONS, ChangeReason, Resident
from jukinet import notice_rules as nr
from jukinet.gaiji import count_gaiji
from jukinet.kana import seion_key
from jukinet.notice_rules import Rule

# The 別添２ items a 市町村CS sends, with their limits. The prefecture derives the others
# (清音化かな氏名, 外字フラグ, 削除フラグ, 保存期間フラグ, タイムスタンプ, 通知を受けた年月日).
TEXT_ITEMS = {
    "name": 120,
    "name_kana": 120,
    "address": 255,
    "oaza_code": 12,
    "former_surname": 60,
    "former_surname_kana": 60,
}
COUNT_ITEMS = (
    "name_gaiji_count",
    "address_gaiji_count",
    "former_surname_gaiji_count",
    "name_gaiji_seq",
    "address_gaiji_seq",
    "former_surname_gaiji_seq",
)
OTHER_ITEMS = ("birth_date", "sex", "municipality_code", "my_number", "former_juminhyo_code")
ALLOWED_ITEMS = frozenset(TEXT_ITEMS) | frozenset(COUNT_ITEMS) | frozenset(OTHER_ITEMS)
DERIVED_ITEMS = frozenset(
    {"name_seion", "former_name_seion", "gaiji_flag", "deleted", "retention_flag", "stamped_at", "notified_on"}
)
ADDRESS_ITEMS = frozenset({"address", "address_gaiji_count", "address_gaiji_seq", "oaza_code", "municipality_code"})
NAME_ITEMS = frozenset(
    {
        "name",
        "name_kana",
        "name_gaiji_count",
        "name_gaiji_seq",
        "former_surname",
        "former_surname_kana",
        "former_surname_gaiji_count",
        "former_surname_gaiji_seq",
    }
)

ENTRY_ITEMS = ("name", "name_kana", "birth_date", "sex", "address", "municipality_code", "my_number")
GAIJI_COUNTED = (
    ("name", "name_gaiji_count"),
    ("address", "address_gaiji_count"),
    ("former_surname", "former_surname_gaiji_count"),
)
REQUIRED = {
    **dict.fromkeys(ENTRY_REASONS, ENTRY_ITEMS),
    "転居": ("address",),
    "氏名の変更": ("name", "name_kana"),
    "住民票コードの変更": ("former_juminhyo_code",),
    "個人番号の変更": ("my_number",),
}
# What each change reason may change; entries set everything, removals change nothing.
CHANGEABLE = {
    "転居": ADDRESS_ITEMS - {"municipality_code"},
    "氏名の変更": NAME_ITEMS,
    "住民票コードの変更": frozenset({"former_juminhyo_code"}),
    "個人番号の変更": frozenset({"my_number"}),
    "職権修正": ALLOWED_ITEMS - {"former_juminhyo_code"},
}

# Logic rules (format rules shared by both files are in jukinet.notice_rules).
E_ALREADY_PRESENT = Rule("E_ALREADY_PRESENT", "この住民票コードの住民は既に記載されています。", "logic")
E_NOT_PRESENT = Rule("E_NOT_PRESENT", "この住民票コードの住民は記載されていません。", "logic")
E_ALREADY_REMOVED = Rule("E_ALREADY_REMOVED", "この住民は既に消除されています。", "logic")
E_REMOVED_PERSON = Rule("E_REMOVED_PERSON", "消除された住民の記載は変更できません。", "logic")
E_OTHER_MUNICIPALITY = Rule("E_OTHER_MUNICIPALITY", "他の市町村の住民についての通知は反映できません。", "logic")
E_TENKYO_SCOPE = Rule("E_TENKYO_SCOPE", "転居の通知で住所以外の項目は変更できません。", "logic")
E_CHANGE_SCOPE = Rule("E_CHANGE_SCOPE", "この異動事由では変更できない項目が含まれています。", "logic")
E_MY_NUMBER_DUPLICATE = Rule("E_MY_NUMBER_DUPLICATE", "この個人番号は別の住民に記載されています。", "logic")
E_CODE_EXISTS = Rule("E_CODE_EXISTS", "新しい住民票コードは既に使われています。", "logic")

RULES = [
    nr.E_NOTICE_SHAPE, nr.E_NOTICE_ID, nr.E_JUMINHYO_CODE, nr.E_UPDATE_SEQ, nr.E_UNKNOWN_REASON, nr.E_DATE,
    nr.E_ITEM_NOT_ALLOWED, nr.E_ITEM_MISSING, nr.E_ITEM_VALUE, nr.E_GAIJI_COUNT, nr.E_WRONG_MUNICIPALITY,
    nr.E_SEQ_BACKWARDS, E_ALREADY_PRESENT, E_NOT_PRESENT, E_ALREADY_REMOVED, E_REMOVED_PERSON,
    E_OTHER_MUNICIPALITY, E_TENKYO_SCOPE, E_CHANGE_SCOPE, E_MY_NUMBER_DUPLICATE, E_CODE_EXISTS,
]  # fmt: skip


def check_format(raw: dict, *, cs_municipality: str) -> nr.CleanNotice:
    """The checks a notice must pass to be accepted into the inbox (answered in the 202)."""
    notice_id, code, seq, reason, changed_on, record = _envelope(raw)
    if reason not in ChangeReason.values:
        raise nr.E_UNKNOWN_REASON.reject("change_reason")
    derived = DERIVED_ITEMS & record.keys()
    if derived:
        name = sorted(derived)[0]
        raise nr.E_ITEM_NOT_ALLOWED.reject(
            f"record.{name}", f"「{name}」は都道府県で作成する項目のため通知できません。"
        )
    unknown = record.keys() - ALLOWED_ITEMS
    if unknown:
        raise nr.E_ITEM_NOT_ALLOWED.reject(nr.field_name(sorted(map(str, unknown))[0]))
    for text_field, count_field in GAIJI_COUNTED:
        if count_field in record and text_field not in record:
            raise nr.E_ITEM_MISSING.reject(
                f"record.{text_field}", f"外字数だけを通知することはできません（{text_field}）。"
            )
    for item in REQUIRED.get(reason, ()):
        if item not in record:
            raise nr.E_ITEM_MISSING.reject(f"record.{item}")
    clean: dict = {}
    for name, limit in TEXT_ITEMS.items():
        if name in record:
            optional = name.startswith("former_") or name == "oaza_code"
            clean[name] = nr.text_item(record, name, limit, allow_empty=optional)
    for name in COUNT_ITEMS:
        if name in record:
            clean[name] = nr.int_item(record, name)
    if "oaza_code" in clean and not clean["oaza_code"].isdigit() and clean["oaza_code"]:
        raise nr.E_ITEM_VALUE.reject("record.oaza_code", "大字・字コードは数字で指定してください。")
    if "birth_date" in record:
        clean["birth_date"] = nr.date_value(record["birth_date"], "record.birth_date")
    if "sex" in record:
        if record["sex"] not in ("1", "2"):
            raise nr.E_ITEM_VALUE.reject("record.sex", '性別は "1"（男）または "2"（女）で指定してください。')
        clean["sex"] = record["sex"]
    if "municipality_code" in record:
        clean["municipality_code"] = nr.lg_code(record["municipality_code"], "record.municipality_code")
        if clean["municipality_code"] != cs_municipality:
            raise nr.E_WRONG_MUNICIPALITY.reject("record.municipality_code")
    if "former_juminhyo_code" in record:
        former = record["former_juminhyo_code"]
        clean["former_juminhyo_code"] = nr.juminhyo_code(former, "record.former_juminhyo_code")
    for text_field, count_field in GAIJI_COUNTED:
        if text_field in clean and count_gaiji(clean[text_field]) != clean.get(count_field, 0):
            raise nr.E_GAIJI_COUNT.reject(f"record.{count_field}")
    if "name_kana" in clean and not seion_key(clean["name_kana"]):
        raise nr.E_ITEM_VALUE.reject("record.name_kana", "ふりがな氏名に検索に使える文字がありません。")
    my_number = nr.my_number(record["my_number"], "record.my_number") if "my_number" in record else None
    return nr.CleanNotice(
        notice_id=notice_id,
        juminhyo_code=code,
        update_seq=seq,
        change_reason=reason,
        changed_on=changed_on,
        record=clean,
        my_number=my_number,
        operator_id=nr.short_text(raw.get("operator_id"), "operator_id"),
        terminal_id=nr.short_text(raw.get("terminal_id"), "terminal_id"),
        items_sent=frozenset(record.keys()),
    )


def _envelope(raw) -> tuple:
    return (nr.notice_id_of(raw), *nr.envelope(raw))


def check_logic(
    *, reason: str, record: dict, items_sent, current: Resident | None, cs_municipality: str, my_number_owner_id
) -> None:
    """Raise the first logic rule the notice breaks against the current row."""
    if reason in ENTRY_REASONS:
        if current is not None and not current.deleted:
            raise E_ALREADY_PRESENT.reject()
    else:
        if current is None:
            raise E_NOT_PRESENT.reject()
        if reason in REMOVAL_REASONS and current.deleted:
            raise E_ALREADY_REMOVED.reject()
        if current.deleted:
            raise E_REMOVED_PERSON.reject()
        if current.municipality_code != cs_municipality:
            raise E_OTHER_MUNICIPALITY.reject()
        allowed = CHANGEABLE.get(reason)
        if allowed is not None:
            changed = {name for name in items_sent if name not in allowed and _differs(current, name, record)}
            if changed:
                rule = E_TENKYO_SCOPE if reason == "転居" else E_CHANGE_SCOPE
                raise rule.reject(f"record.{sorted(changed)[0]}")
    if my_number_owner_id is not None and (current is None or my_number_owner_id != current.pk):
        raise E_MY_NUMBER_DUPLICATE.reject("record.my_number", "この個人番号は別の住民に記載されています。")


def _differs(current: Resident, name: str, record: dict) -> bool:
    if name in ("my_number", "former_juminhyo_code"):
        return True  # never silently equal: these items are only for their own reasons
    stored = getattr(current, name)
    if hasattr(stored, "isoformat"):
        stored = stored.isoformat()  # the inbox keeps dates as ISO strings
    return stored != record.get(name)
