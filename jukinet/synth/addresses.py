"""Addresses for the synthetic prefecture: municipalities and their weights, town names, abroad.

Residents are spread over the municipalities by their real population (2024, rounded to
the thousand); さいたま市 is split into its ten wards, which act as municipalities for
resident registration, so nobody is registered under 111007.

Town names (町名・大字名) are invented from common parts, several per municipality and the
same for a municipality whatever the seed (their RNG is seeded by the municipality code), so
an address prefix means the same place in every load. Roughly half of the municipalities
have one 大字 whose name holds a 外字; its weight is set so that about 0.3 % of residents
live there (:data:`GAIJI_ADDRESS_SHARE`).

``oaza_code`` follows the shape of the Address Base Registry's 町字ID: four digits for the
大字・町 (numbered within the municipality) and three for the 丁目 (000 for a 大字 without
丁目), so one (municipality, 大字, 丁目) always has one code.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from jukinet.gaiji import count_gaiji

# Population in thousands by 全国地方公共団体コード (2024 estimates, rounded).
POPULATION_THOUSANDS: dict[str, float] = {
    # さいたま市の区 (≈ 1.34 M together)
    "111015": 95, "111023": 150, "111031": 124, "111040": 166, "111058": 104,
    "111066": 96, "111074": 170, "111082": 194, "111091": 131, "111104": 110,
    "112011": 353, "112020": 192, "112038": 606, "112062": 78, "112071": 60,
    "112089": 343, "112097": 78, "112101": 112, "112119": 77, "112127": 90,
    "112143": 230, "112151": 148, "112160": 54, "112178": 117, "112186": 142,
    "112194": 229, "112216": 250, "112224": 345, "112232": 75, "112241": 141,
    "112259": 145, "112275": 142, "112283": 76, "112291": 84, "112305": 166,
    "112313": 74, "112321": 150, "112330": 65, "112348": 92, "112356": 112,
    "112372": 142, "112381": 61, "112399": 100, "112402": 50, "112411": 70,
    "112429": 54, "112437": 73, "112453": 114, "112461": 52,
    "113018": 45, "113247": 38, "113263": 32, "113271": 11, "113417": 19,
    "113425": 18, "113433": 28, "113468": 19, "113476": 18, "113484": 13,
    "113492": 11, "113611": 8, "113620": 9, "113638": 7, "113654": 11,
    "113697": 2.5, "113816": 11, "113832": 13, "113859": 30, "114081": 32,
    "114421": 34, "114642": 44, "114651": 28,
}  # fmt: skip

GAIJI_ADDRESS_SHARE = 0.003

# 町名 (used with 丁目) and the parts 大字 names are built from.
_CHOME_TOWNS = [
    "本町",
    "仲町",
    "栄町",
    "幸町",
    "緑町",
    "旭町",
    "寿町",
    "宮町",
    "東町",
    "西町",
    "南町",
    "北町",
    "中央",
    "新町",
    "元町",
    "大和町",
    "末広",
    "富士見",
    "若葉",
    "桜町",
    "松原",
    "上町",
    "下町",
    "天神町",
    "八幡町",
    "千代田",
    "日の出町",
    "朝日町",
    "柳町",
    "泉町",
    "高砂",
    "常盤",
    "岸町",
    "原町",
    "住吉町",
    "弁天町",
    "浅間町",
    "平和町",
    "青葉台",
    "並木",
    "昭和町",
    "大門町",
    "本郷町",
    "美園",
    "緑が丘",
    "光が丘",
    "東本町",
    "西本町",
    "中町",
    "新栄町",
    "錦町",
    "駅前",
    "文化町",
    "春日町",
    "みずほ台",
    "けやき台",
    "さくら台",
    "ひばりが丘",
    "つつじが丘",
    "星の宮",
    "旭が丘",
    "宮前町",
    "清水町",
    "曙町",
    "稲荷町",
    "荒川町",
]
_OAZA_HEADS = [
    "上",
    "下",
    "中",
    "新",
    "東",
    "西",
    "南",
    "北",
    "大",
    "小",
    "今",
    "古",
    "本",
    "高",
    "長",
    "石",
    "宮",
    "松",
    "竹",
    "梅",
    "柳",
    "桜",
    "藤",
    "吉",
    "池",
    "森",
    "原",
]
_OAZA_TAILS = [
    "野田",
    "新井",
    "曽根",
    "谷",
    "井",
    "沢",
    "田",
    "島",
    "原",
    "塚",
    "宿",
    "久保",
    "根",
    "川",
    "山",
    "戸",
    "崎",
    "内",
    "ヶ谷",
    "窪",
    "新田",
    "野",
    "岡",
    "木",
    "橋",
    "堀",
    "台",
    "町",
    "郷",
    "袋",
    "成",
    "間",
    "生",
    "羽",
    "作",
    "目",
    "倉",
    "瀬",
    "林",
    "前",
    "江",
    "尻",
    "平",
    "吉",
    "屋敷",
    "村",
]
# 大字 names holding a 外字 (Unicode where it exists, PUA otherwise; see names.PUA_GLYPHS).
_GAIJI_OAZA = ("宮﨑", "髙野", "栁沢", "𣘺場", "濵田", "山﨑新田", "𡈽手", "\ue020ノ木", "中\ue021", "德田")
ADDRESS_PUA_GLYPHS: dict[str, str] = {
    "\ue020": "椚の異体字（木へんに門構えの國）",
    "\ue021": "嵜の異体字（山の下に竒）",
}


@dataclass(slots=True)
class Town:
    name: str  # e.g. "本町", "大字上野田"
    number: int  # 1-based within the municipality (the first four digits of oaza_code)
    chome: int  # number of 丁目, 0 for a 大字/町 without 丁目
    weight: float
    gaiji_count: int


@dataclass(slots=True)
class Municipality:
    code: str
    name: str
    kind: str
    population: float
    towns: list[Town] = field(default_factory=list)


def read_municipalities(path: Path) -> list[Municipality]:
    """The municipalities residents are registered in (wards, not the designated city)."""
    result = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] == "designated_city":
                continue
            code = row["code6"]
            try:
                population = POPULATION_THOUSANDS[code]
            except KeyError:
                raise ValueError(f"no population weight for municipality {code}") from None
            result.append(Municipality(code=code, name=row["name"], kind=row["kind"], population=population))
    for muni in result:
        muni.towns = _towns_for(muni)
    return result


def _towns_for(muni: Municipality) -> list[Town]:
    # Seeded by the code only: the same towns in every load, whatever the seed.
    rng = random.Random(f"jukinet-synth-towns:{muni.code}")  # noqa: S311 - synthetic data, not security
    count = max(6, min(60, int(muni.population // 6)))
    chome_share = 0.65 if muni.kind in ("city", "ward") else 0.2
    names: list[tuple[str, int]] = []
    used: set[str] = set()
    chome_pool = list(_CHOME_TOWNS)
    rng.shuffle(chome_pool)
    while len(names) < count:
        if rng.random() < chome_share and chome_pool:
            name = chome_pool.pop()
            chome = 1 + int(rng.random() * 6)
        else:
            name = "大字" + rng.choice(_OAZA_HEADS) + rng.choice(_OAZA_TAILS)
            chome = 0
        if name not in used:
            used.add(name)
            names.append((name, chome))
    towns = [
        Town(name=name, number=i, chome=chome, weight=rng.lognormvariate(0.0, 0.8) * max(chome, 1), gaiji_count=0)
        for i, (name, chome) in enumerate(names, start=1)
    ]
    if rng.random() < 0.5:
        # About half the municipalities have one 外字 大字; twice the target share there keeps
        # the prefecture-wide share near GAIJI_ADDRESS_SHARE.
        name = "大字" + rng.choice(_GAIJI_OAZA)
        regular = sum(t.weight for t in towns)
        share = 2 * GAIJI_ADDRESS_SHARE
        towns.append(
            Town(name=name, number=len(towns) + 1, chome=0, weight=regular * share / (1 - share), gaiji_count=0)
        )
    for town in towns:
        town.gaiji_count = count_gaiji(town.name)
    return towns


# --- Abroad (附票: 国外転出者) -----------------------------------------------------------
# (country and region, [cities]) written as a Japanese 住民票 would: country name in kanji or
# katakana, then region and city in katakana; Chinese and Korean place names in kanji, some
# of them simplified characters that are 外字 (阳, 东 …), as they arrive from abroad.
FOREIGN_PLACES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "アメリカ合衆国カリフォルニア州",
        ("ロサンゼルス市", "サンフランシスコ市", "サンノゼ市", "トーランス市", "アーバイン市"),
    ),
    ("アメリカ合衆国ニューヨーク州", ("ニューヨーク市", "ホワイトプレインズ市")),
    ("アメリカ合衆国ハワイ州", ("ホノルル市",)),
    ("アメリカ合衆国ワシントン州", ("シアトル市", "ベルビュー市")),
    ("アメリカ合衆国イリノイ州", ("シカゴ市",)),
    ("アメリカ合衆国テキサス州", ("ダラス市", "ヒューストン市", "オースティン市")),
    ("カナダ国ブリティッシュコロンビア州", ("バンクーバー市",)),
    ("カナダ国オンタリオ州", ("トロント市",)),
    ("中華人民共和国上海市", ("浦東新区", "長寧区", "閔行区", "浦东新区")),
    ("中華人民共和国北京市", ("朝陽区", "朝阳区", "海淀区")),
    ("中華人民共和国広東省", ("広州市", "深セン市")),
    ("大韓民国ソウル特別市", ("江南区", "龍山区", "麻浦区")),
    ("台湾", ("台北市大安区", "台北市信義区", "新北市")),
    ("タイ王国", ("バンコク都",)),
    ("シンガポール共和国", ("シンガポール",)),
    ("ベトナム社会主義共和国", ("ホーチミン市", "ハノイ市")),
    ("フィリピン共和国", ("マニラ首都圏マカティ市",)),
    ("インドネシア共和国", ("ジャカルタ首都特別州",)),
    ("オーストラリア連邦ニューサウスウェールズ州", ("シドニー市",)),
    ("オーストラリア連邦ビクトリア州", ("メルボルン市",)),
    ("グレートブリテン及び北アイルランド連合王国", ("ロンドン",)),
    ("ドイツ連邦共和国", ("デュッセルドルフ市", "フランクフルト市", "ミュンヘン市")),
    ("フランス共和国", ("パリ市",)),
    ("オランダ王国", ("アムステルダム市",)),
    ("ブラジル連邦共和国サンパウロ州", ("サンパウロ市",)),
    ("アラブ首長国連邦", ("ドバイ",)),
)
FOREIGN_STREETS = [
    "メインストリート",
    "オークアベニュー",
    "パークアベニュー",
    "セントラル通り",
    "ウィルシャー大通り",
    "サンセット大通り",
    "ブロードウェイ",
    "マーケットストリート",
    "ハイストリート",
    "リバーサイド通り",
    "オーチャード通り",
    "クイーンズロード",
    "キングストリート",
    "レイクショア通り",
    "ステーション通り",
    "ガーデンロード",
]
