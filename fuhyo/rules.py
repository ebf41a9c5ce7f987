"""The rules of the fuhyo file's update notices (docs/notice-rules.md has the table).

Format checks run when a notice arrives (the CS gets the answer in its 202); logic checks
run when the worker applies it against the person's current row. Each rule has a stable
code and a Japanese message.

The fuhyo file never receives a 個人番号 (DESIGN.md §3): a notice that carries one is
refused whole, before anything of it is stored.

This module imports nothing from ``honnin`` (DESIGN.md §5; a test checks it).
"""

import re

from fuhyo.models import FUHYO_ENTRY_REASONS, FUHYO_REMOVAL_REASONS, FuhyoChangeReason, FuhyoRecord, FuhyoStatus
from jukinet import notice_rules as nr
from jukinet.fields import Sex
from jukinet.gaiji import count_gaiji
from jukinet.kana import seion_key
from jukinet.notice_rules import Rule

# The 別添２ (2)ア items a 市町村CS sends for the fuhyo file, with their limits.
TEXT_ITEMS = {
    "name": 120,
    "name_kana": 120,
    "address": 255,
    "last_address": 255,
}
# Each text item that can hold 外字, with its 外字数; the order is the order of 外字パターン.
GAIJI_ITEMS = (
    ("name", "name_gaiji_count"),
    ("address", "address_gaiji_count"),
    ("last_address", "last_address_gaiji_count"),
)
COUNT_ITEMS = tuple(count for _, count in GAIJI_ITEMS)
OTHER_ITEMS = ("birth_date", "sex", "address_municipality_code", "managing_municipality_code", "former_juminhyo_code")
ALLOWED_ITEMS = frozenset(TEXT_ITEMS) | frozenset(COUNT_ITEMS) | frozenset(OTHER_ITEMS)
# Made by the prefecture when it applies a notice, never sent by a CS.
DERIVED_ITEMS = frozenset({"name_seion", "gaiji_flag", "gaiji_pattern", "status", "notice_kind", "stamped_at"})
ADDRESS_ITEMS = frozenset({"address", "address_gaiji_count", "address_municipality_code"})
NAME_ITEMS = frozenset({"name", "name_gaiji_count", "name_kana"})

ENTRY_ITEMS = (
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "address_municipality_code",
    "managing_municipality_code",
    "last_address",
)
REQUIRED = {
    **dict.fromkeys(FUHYO_ENTRY_REASONS, ENTRY_ITEMS),
    FuhyoChangeReason.JUSHO_HENKO: ("address",),
    FuhyoChangeReason.SHIMEI_HENKO: ("name", "name_kana"),
    FuhyoChangeReason.CODE_HENKO: ("former_juminhyo_code",),
}
# What each change reason may change. Entries set everything; removals and 職権修正 may
# correct any item (旧住民票コード is only ever sent with 住民票コードの変更).
CHANGEABLE = {
    FuhyoChangeReason.JUSHO_HENKO: ADDRESS_ITEMS,
    FuhyoChangeReason.SHIMEI_HENKO: NAME_ITEMS,
    FuhyoChangeReason.CODE_HENKO: frozenset({"former_juminhyo_code"}),
}

_ITEM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_SURROGATE = re.compile("[\ud800-\udfff]")

# Format rules of the fuhyo file only (the shared ones are in jukinet.notice_rules).
E_MY_NUMBER_NOT_ALLOWED = Rule(
    "E_MY_NUMBER_NOT_ALLOWED", "附票本人確認情報ファイルには個人番号を通知できません。", "format"
)
# Logic rules.
E_ALREADY_PRESENT = Rule("E_ALREADY_PRESENT", "この住民票コードの附票本人確認情報は既に記載されています。", "logic")
E_NOT_PRESENT = Rule("E_NOT_PRESENT", "この住民票コードの附票本人確認情報は記載されていません。", "logic")
E_ALREADY_REMOVED = Rule("E_ALREADY_REMOVED", "この附票本人確認情報は既に消除されています。", "logic")
E_REMOVED_PERSON = Rule("E_REMOVED_PERSON", "消除された附票本人確認情報は変更できません。", "logic")
E_OTHER_MUNICIPALITY = Rule(
    "E_OTHER_MUNICIPALITY", "他の市町村が附票を管理している者についての通知は反映できません。", "logic"
)
E_CHANGE_SCOPE = Rule("E_CHANGE_SCOPE", "この異動事由では変更できない項目が含まれています。", "logic")
E_CODE_EXISTS = Rule("E_CODE_EXISTS", "新しい住民票コードは既に使われています。", "logic")

RULES = [
    nr.E_NOTICE_SHAPE, nr.E_NOTICE_ID, E_MY_NUMBER_NOT_ALLOWED, nr.E_JUMINHYO_CODE, nr.E_UPDATE_SEQ,
    nr.E_UNKNOWN_REASON, nr.E_DATE, nr.E_ITEM_NOT_ALLOWED, nr.E_ITEM_MISSING, nr.E_ITEM_VALUE, nr.E_GAIJI_COUNT,
    nr.E_WRONG_MUNICIPALITY, nr.E_SEQ_BACKWARDS, E_ALREADY_PRESENT, E_NOT_PRESENT, E_ALREADY_REMOVED,
    E_REMOVED_PERSON, E_OTHER_MUNICIPALITY, E_CHANGE_SCOPE, E_CODE_EXISTS,
]  # fmt: skip


def check_format(raw: dict, *, cs_municipality: str) -> nr.CleanNotice:
    """The checks a notice must pass to be accepted into the inbox (answered in the 202)."""
    notice_id, code, seq, reason, changed_on, record = _envelope(raw)
    if reason not in FuhyoChangeReason.values:
        raise nr.E_UNKNOWN_REASON.reject("change_reason")
    derived = DERIVED_ITEMS & record.keys()
    if derived:
        name = sorted(derived)[0]
        raise nr.E_ITEM_NOT_ALLOWED.reject(
            f"record.{name}", f"「{name}」は都道府県で作成する項目のため通知できません。"
        )
    unknown = record.keys() - ALLOWED_ITEMS
    if unknown:
        name = sorted(unknown, key=str)[0]
        safe = isinstance(name, str) and _ITEM_NAME.fullmatch(name)
        raise nr.E_ITEM_NOT_ALLOWED.reject(f"record.{name}" if safe else "record")
    if "former_juminhyo_code" in record and reason != FuhyoChangeReason.CODE_HENKO:
        raise nr.E_ITEM_NOT_ALLOWED.reject(
            "record.former_juminhyo_code", "旧住民票コードは「住民票コードの変更」の通知でのみ指定できます。"
        )
    for item in REQUIRED.get(reason, ()):
        if item not in record:
            raise nr.E_ITEM_MISSING.reject(f"record.{item}")
    clean: dict = {}
    for name, limit in TEXT_ITEMS.items():
        if name in record:
            clean[name] = nr.text_item(record, name, limit, allow_empty=name == "last_address")
            if _SURROGATE.search(clean[name]):
                raise nr.E_ITEM_VALUE.reject(f"record.{name}", f"「{name}」に使用できない文字が含まれています。")
    if "name_kana" in clean and not seion_key(clean["name_kana"]):
        raise nr.E_ITEM_VALUE.reject("record.name_kana", "ふりがな氏名に仮名がありません。")
    for text_item, count_item in GAIJI_ITEMS:
        if count_item in record:
            if text_item not in record:
                raise nr.E_ITEM_MISSING.reject(
                    f"record.{text_item}", f"「{count_item}」を通知するときは「{text_item}」も通知してください。"
                )
            clean[count_item] = nr.int_item(record, count_item)
        if text_item in clean:
            if count_gaiji(clean[text_item]) != clean.get(count_item, 0):
                raise nr.E_GAIJI_COUNT.reject(f"record.{count_item}")
            # The count always travels with its text, so a stale count cannot survive a change.
            clean[count_item] = clean.get(count_item, 0)
    if "birth_date" in record:
        clean["birth_date"] = nr.date_value(record["birth_date"], "record.birth_date")
    if "sex" in record:
        if record["sex"] not in Sex.values:
            raise nr.E_ITEM_VALUE.reject("record.sex", '性別は "1"（男）または "2"（女）で指定してください。')
        clean["sex"] = record["sex"]
    if "address_municipality_code" in record:
        clean["address_municipality_code"] = nr.lg_code(
            record["address_municipality_code"], "record.address_municipality_code"
        )
    if "managing_municipality_code" in record:
        managing = nr.lg_code(record["managing_municipality_code"], "record.managing_municipality_code")
        if managing != cs_municipality:
            raise nr.E_WRONG_MUNICIPALITY.reject(
                "record.managing_municipality_code", "他の市町村が管理する附票についての通知は送信できません。"
            )
        clean["managing_municipality_code"] = managing
    if "former_juminhyo_code" in record:
        former = nr.juminhyo_code(record["former_juminhyo_code"], "record.former_juminhyo_code")
        if former == code:
            raise nr.E_ITEM_VALUE.reject(
                "record.former_juminhyo_code", "旧住民票コードが新しい住民票コードと同じです。"
            )
        clean["former_juminhyo_code"] = former
    return nr.CleanNotice(
        notice_id=notice_id,
        juminhyo_code=code,
        update_seq=seq,
        change_reason=reason,
        changed_on=changed_on,
        record=clean,
        my_number=None,
        operator_id=nr.short_text(raw.get("operator_id"), "operator_id"),
        terminal_id=nr.short_text(raw.get("terminal_id"), "terminal_id"),
        items_sent=frozenset(record.keys()),
    )


def _envelope(raw) -> tuple:
    notice_id = nr.notice_id_of(raw)
    # Before anything else: a 個人番号 anywhere in the notice refuses it whole.
    if "my_number" in raw:
        raise E_MY_NUMBER_NOT_ALLOWED.reject("my_number")
    record = raw.get("record", {})
    if isinstance(record, dict) and "my_number" in record:
        raise E_MY_NUMBER_NOT_ALLOWED.reject("record.my_number")
    return (notice_id, *nr.envelope(raw))


def check_logic(*, reason: str, record: dict, items_sent, current: FuhyoRecord | None, cs_municipality: str) -> None:
    """Raise the first logic rule the notice breaks against the current row.

    ``current`` is the person's current row (for 住民票コードの変更, the row of the old code);
    the CS acting is the 附票管理市町村, so it may act only on rows it manages.
    """
    if reason in FUHYO_ENTRY_REASONS:
        if current is not None and current.status == FuhyoStatus.CURRENT:
            raise E_ALREADY_PRESENT.reject()
        return
    if current is None:
        raise E_NOT_PRESENT.reject()
    removed = current.status == FuhyoStatus.REMOVED
    if reason in FUHYO_REMOVAL_REASONS and removed:
        raise E_ALREADY_REMOVED.reject()
    if removed:
        raise E_REMOVED_PERSON.reject()
    if current.managing_municipality_code != cs_municipality:
        raise E_OTHER_MUNICIPALITY.reject()
    allowed = CHANGEABLE.get(reason)
    if allowed is not None:
        changed = sorted(name for name in items_sent if name not in allowed and _differs(current, name, record))
        if changed:
            raise E_CHANGE_SCOPE.reject(f"record.{changed[0]}")


def _differs(current: FuhyoRecord, name: str, record: dict) -> bool:
    if name == "former_juminhyo_code":
        return True  # never silently equal: only 住民票コードの変更 may send it
    have, sent = getattr(current, name), record.get(name)
    if hasattr(have, "isoformat"):
        have = have.isoformat()
    if hasattr(sent, "isoformat"):
        sent = sent.isoformat()
    return have != sent
