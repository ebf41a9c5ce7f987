"""The national mock's own data set: synthetic residents of the other 46 prefectures.

Names come from the synthetic prefecture's name lists (``jukinet.synth.names``), codes from
``jukinet.codes``. Every person has a ``honnin`` row with a sealed 個人番号; about a third
also have a ``fuhyo`` row (same 住民票コード, no 個人番号).

Codes are drawn from their own random stream, so they can coincide with this prefecture's
residents (7.3 M of 10^10 住民票コード: about one or two per 2,000 people). Each batch of
candidates is checked against ``honnin_resident`` through its unique indexes (one indexed
``IN`` query per batch, not a scan) and against the national table, and clashes are drawn
again: a national query must never answer for someone this prefecture holds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from jukinet.codes import generate_juminhyo_code, generate_my_number
from jukinet.crypto import Keyring, get_keyring
from jukinet.kana import seion_key
from jukinet.national.models import NationalFile, NationalResident
from jukinet.national.selectors import my_number_context
from jukinet.synth import names

SAITAMA = "11"
BATCH = 1000
FUHYO_SHARE = 0.3

# JIS X 0401 都道府県コード → (name, a few municipalities).
PREFECTURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "01": ("北海道", ("札幌市中央区", "旭川市", "函館市")),
    "02": ("青森県", ("青森市", "弘前市", "八戸市")),
    "03": ("岩手県", ("盛岡市", "一関市", "奥州市")),
    "04": ("宮城県", ("仙台市青葉区", "石巻市", "大崎市")),
    "05": ("秋田県", ("秋田市", "横手市", "大仙市")),
    "06": ("山形県", ("山形市", "鶴岡市", "酒田市")),
    "07": ("福島県", ("福島市", "郡山市", "いわき市")),
    "08": ("茨城県", ("水戸市", "つくば市", "日立市")),
    "09": ("栃木県", ("宇都宮市", "小山市", "足利市")),
    "10": ("群馬県", ("前橋市", "高崎市", "太田市")),
    "12": ("千葉県", ("千葉市中央区", "船橋市", "松戸市")),
    "13": ("東京都", ("千代田区", "世田谷区", "八王子市")),
    "14": ("神奈川県", ("横浜市中区", "川崎市川崎区", "相模原市中央区")),
    "15": ("新潟県", ("新潟市中央区", "長岡市", "上越市")),
    "16": ("富山県", ("富山市", "高岡市", "射水市")),
    "17": ("石川県", ("金沢市", "白山市", "小松市")),
    "18": ("福井県", ("福井市", "坂井市", "越前市")),
    "19": ("山梨県", ("甲府市", "甲斐市", "南アルプス市")),
    "20": ("長野県", ("長野市", "松本市", "上田市")),
    "21": ("岐阜県", ("岐阜市", "大垣市", "各務原市")),
    "22": ("静岡県", ("静岡市葵区", "浜松市中央区", "沼津市")),
    "23": ("愛知県", ("名古屋市中区", "豊田市", "岡崎市")),
    "24": ("三重県", ("津市", "四日市市", "鈴鹿市")),
    "25": ("滋賀県", ("大津市", "草津市", "長浜市")),
    "26": ("京都府", ("京都市中京区", "宇治市", "亀岡市")),
    "27": ("大阪府", ("大阪市北区", "堺市堺区", "東大阪市")),
    "28": ("兵庫県", ("神戸市中央区", "姫路市", "西宮市")),
    "29": ("奈良県", ("奈良市", "橿原市", "生駒市")),
    "30": ("和歌山県", ("和歌山市", "田辺市", "橋本市")),
    "31": ("鳥取県", ("鳥取市", "米子市", "倉吉市")),
    "32": ("島根県", ("松江市", "出雲市", "浜田市")),
    "33": ("岡山県", ("岡山市北区", "倉敷市", "津山市")),
    "34": ("広島県", ("広島市中区", "福山市", "呉市")),
    "35": ("山口県", ("山口市", "下関市", "宇部市")),
    "36": ("徳島県", ("徳島市", "阿南市", "鳴門市")),
    "37": ("香川県", ("高松市", "丸亀市", "観音寺市")),
    "38": ("愛媛県", ("松山市", "今治市", "新居浜市")),
    "39": ("高知県", ("高知市", "南国市", "四万十市")),
    "40": ("福岡県", ("福岡市中央区", "北九州市小倉北区", "久留米市")),
    "41": ("佐賀県", ("佐賀市", "唐津市", "鳥栖市")),
    "42": ("長崎県", ("長崎市", "佐世保市", "諫早市")),
    "43": ("熊本県", ("熊本市中央区", "八代市", "天草市")),
    "44": ("大分県", ("大分市", "別府市", "中津市")),
    "45": ("宮崎県", ("宮崎市", "都城市", "延岡市")),
    "46": ("鹿児島県", ("鹿児島市", "霧島市", "鹿屋市")),
    "47": ("沖縄県", ("那覇市", "沖縄市", "うるま市")),
}
TOWNS = ("本町", "栄町", "中央", "緑町", "旭町", "幸町", "新町", "東町", "西町", "南町", "北町", "桜町", "大手町")
HONNIN_REASONS = (("転入", 0.45), ("出生", 0.35), ("転居", 0.15), ("氏名の変更", 0.05))
FUHYO_REASONS = (("附票記載", 0.8), ("国外転出", 0.2))
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Person:
    """One synthetic person before sealing (tests build these directly)."""

    juminhyo_code: str
    my_number: str
    name: str
    name_kana: str
    birth_date: dt.date
    sex: str
    address: str
    prefecture_code: str
    change_reason: str
    changed_on: dt.date


def resident_rows(
    person: Person, *, fuhyo: bool, keyring: Keyring | None = None, fuhyo_reason: str = "附票記載"
) -> list[NationalResident]:
    """The unsaved honnin row (number sealed, HMAC index) and, if asked, the fuhyo row."""
    keyring = keyring or get_keyring()
    common = {
        "juminhyo_code": person.juminhyo_code,
        "name": person.name,
        "name_kana": person.name_kana,
        "name_seion": seion_key(person.name_kana),
        "birth_date": person.birth_date,
        "sex": person.sex,
        "address": person.address,
        "prefecture_code": person.prefecture_code,
        "changed_on": person.changed_on,
    }
    rows = [
        NationalResident(
            file=NationalFile.HONNIN,
            change_reason=person.change_reason,
            my_number=keyring.encrypt(person.my_number, context=my_number_context(person.juminhyo_code)),
            my_number_index=keyring.index(person.my_number),
            **common,
        )
    ]
    if fuhyo:
        rows.append(NationalResident(file=NationalFile.FUHYO, change_reason=fuhyo_reason, **common))
    return rows


class _Weighted:
    def __init__(self, items, weight):
        self.items = list(items)
        self.cum, total = [], 0.0
        for item in self.items:
            total += weight(item)
            self.cum.append(total)

    def pick(self, rng: random.Random):
        return self.items[min(bisect.bisect_right(self.cum, rng.random() * self.cum[-1]), len(self.items) - 1)]


def _taken(codes: list[str], indexes: list[bytes]) -> tuple[set[str], set[bytes]]:
    """Which candidate codes and 個人番号 indexes are already used, here or by this prefecture."""
    from honnin.models import Resident  # this prefecture's residents: never to appear as "other prefectures"

    used_codes, used_indexes = set(), set()
    for model in (Resident, NationalResident):
        for code, index in model.objects.filter(
            Q(juminhyo_code__in=codes) | Q(my_number_index__in=indexes)
        ).values_list("juminhyo_code", "my_number_index"):
            used_codes.add(code)
            if index is not None:
                used_indexes.add(bytes(index))
    return used_codes, used_indexes


class _Tables:
    def __init__(self):
        self.surnames = _Weighted(names.surnames(), lambda n: n.weight)
        self.given = {
            (era, sex): _Weighted(names.given_names(era, sex), lambda n: n.weight)
            for era in names.ERA_START_YEARS
            for sex in ("1", "2")
        }
        self.prefectures = sorted(code for code in PREFECTURES if code != SAITAMA)
        self.honnin_reasons = _Weighted(HONNIN_REASONS, lambda r: r[1])
        self.fuhyo_reasons = _Weighted(FUHYO_REASONS, lambda r: r[1])


def _people(rng: random.Random, tables: _Tables, count: int, as_of: dt.date) -> list[Person]:
    surnames, given, prefectures = tables.surnames, tables.given, tables.prefectures
    first_day, last_day = dt.date(1925, 1, 1).toordinal(), as_of.toordinal()
    people = []
    for _ in range(count):
        sex = "1" if rng.random() < 0.49 else "2"
        birth = dt.date.fromordinal(rng.randint(first_day, last_day))
        surname = surnames.pick(rng)
        first = given[(names.era_of(birth.year), sex)].pick(rng)
        pref = rng.choice(prefectures)
        pref_name, cities = PREFECTURES[pref]
        address = (
            f"{pref_name}{rng.choice(cities)}{rng.choice(TOWNS)}{rng.randint(1, 5)}丁目"
            f"{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        ).translate(_FULLWIDTH)
        reason = tables.honnin_reasons.pick(rng)[0]
        changed = dt.date.fromordinal(rng.randint(birth.toordinal(), last_day))
        people.append(
            Person(
                juminhyo_code=generate_juminhyo_code(rng),
                my_number=generate_my_number(rng),
                name=f"{surname.kanji}\u3000{first.kanji}",
                name_kana=f"{surname.kana}\u3000{first.kana}",
                birth_date=birth,
                sex=sex,
                address=address,
                prefecture_code=pref,
                change_reason=reason,
                changed_on=birth if reason == "出生" else changed,
            )
        )
    return people


def seed_residents(*, people: int, seed: int, as_of: dt.date | None = None, replace: bool = False) -> int:
    """Add ``people`` synthetic residents of other prefectures; returns how many were added."""
    rng = random.Random(f"jukinet-national:{seed}")  # noqa: S311 - synthetic data, not security
    as_of = as_of or dt.date.today()
    keyring = get_keyring()
    tables = _Tables()
    added = 0
    with transaction.atomic():
        if replace:
            NationalResident.objects.all().delete()
        while added < people:
            batch = _people(rng, tables, min(BATCH, people - added), as_of)
            used_codes, used_indexes = _taken(
                [p.juminhyo_code for p in batch], [keyring.index(p.my_number) for p in batch]
            )
            rows = []
            for person in batch:
                index = keyring.index(person.my_number)
                if person.juminhyo_code in used_codes or index in used_indexes:
                    continue  # drawn again in the next round
                used_codes.add(person.juminhyo_code)
                used_indexes.add(index)
                fuhyo = rng.random() < FUHYO_SHARE
                reason = tables.fuhyo_reasons.pick(rng)[0]
                rows.extend(resident_rows(person, fuhyo=fuhyo, keyring=keyring, fuhyo_reason=reason))
                added += 1
            NationalResident.objects.bulk_create(rows, batch_size=BATCH)
    return added
