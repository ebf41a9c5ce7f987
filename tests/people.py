"""Rows of both files for tests, with keys and counts computed the way the loaders do."""

import datetime as dt
import itertools

from django.utils import timezone

from fuhyo.models import FuhyoRecord
from honnin.models import Resident
from honnin.my_number import seal_my_number
from jukinet.codes import juminhyo_code_check_digit, my_number_check_digit
from jukinet.gaiji import count_gaiji
from jukinet.kana import seion_key

_serial = itertools.count(1)


def next_code() -> str:
    first10 = f"{7_000_000_000 + next(_serial):010d}"
    return first10 + juminhyo_code_check_digit(first10)


def my_number_for(n: int) -> str:
    first11 = f"{40_000_000_000 + n:011d}"
    return first11 + my_number_check_digit(first11)


def make_resident(*, my_number: str | None = None, **fields) -> Resident:
    code = fields.pop("juminhyo_code", None) or next_code()
    name = fields.pop("name", "佐藤　太郎")
    name_kana = fields.pop("name_kana", "サトウ　タロウ")
    address = fields.pop("address", "埼玉県川越市元町一丁目１番１号")
    former = fields.pop("former_surname", "")
    former_kana = fields.pop("former_surname_kana", "")
    given_kana = name_kana.split("　")[-1]
    counts = {"name_gaiji_count": count_gaiji(name), "address_gaiji_count": count_gaiji(address)}
    row = Resident(
        juminhyo_code=code,
        name=name,
        name_kana=name_kana,
        name_seion=seion_key(name_kana),
        former_surname=former,
        former_surname_kana=former_kana,
        former_name_seion=seion_key(former_kana + given_kana) if former_kana else "",
        address=address,
        gaiji_flag=any(counts.values()),
        birth_date=fields.pop("birth_date", dt.date(1985, 3, 1)),
        sex=fields.pop("sex", "1"),
        change_reason=fields.pop("change_reason", "転入"),
        changed_on=fields.pop("changed_on", dt.date(2020, 4, 1)),
        municipality_code=fields.pop("municipality_code", "112011"),
        stamped_at=timezone.now(),
        notified_on=fields.pop("notified_on", dt.date(2020, 4, 2)),
        update_seq=fields.pop("update_seq", 1),
        **counts,
        **fields,
    )
    if my_number:
        row.my_number, row.my_number_index = seal_my_number(code, my_number)
    row.save()
    return row


def make_fuhyo(**fields) -> FuhyoRecord:
    name = fields.pop("name", "佐藤　花子")
    name_kana = fields.pop("name_kana", "サトウ　ハナコ")
    address = fields.pop("address", "アメリカ合衆国カリフォルニア州ロサンゼルス市")
    last_address = fields.pop("last_address", "埼玉県川越市元町一丁目１番１号")
    counts = (count_gaiji(name), count_gaiji(address), count_gaiji(last_address))
    row = FuhyoRecord(
        juminhyo_code=fields.pop("juminhyo_code", None) or next_code(),
        name=name,
        name_kana=name_kana,
        name_seion=seion_key(name_kana),
        name_gaiji_count=counts[0],
        address=address,
        address_gaiji_count=counts[1],
        last_address=last_address,
        last_address_gaiji_count=counts[2],
        gaiji_pattern="".join("1" if c else "0" for c in counts),
        gaiji_flag=any(counts),
        birth_date=fields.pop("birth_date", dt.date(1990, 1, 1)),
        sex=fields.pop("sex", "2"),
        address_municipality_code=fields.pop("address_municipality_code", "112011"),
        changed_on=fields.pop("changed_on", dt.date(2021, 1, 1)),
        managing_municipality_code=fields.pop("managing_municipality_code", "112011"),
        status=fields.pop("status", "0"),
        notice_kind=fields.pop("notice_kind", "1"),
        change_reason=fields.pop("change_reason", "国外転出"),
        update_seq=fields.pop("update_seq", 1),
        stamped_at=timezone.now(),
        **fields,
    )
    row.save()
    return row


def number_in(text: str, number: str) -> bool:
    """Whether ``number`` appears in ``text``, also when shown in groups (「4000 0000 0017」)."""
    return number in "".join(text.split())
