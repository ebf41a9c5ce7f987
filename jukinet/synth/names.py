"""Built-in Japanese names with their readings, frequency-weighted, for the synthetic prefecture.

Surnames are listed in the approximate order of their frequency in Japan (with a few that
are typical of Saitama: 新井, 関根, 浅見, 田島 …); the weight of the name at rank r is
``1 / (r + 5)``, which puts 佐藤 about 17 times above rank 100 and 50 times above rank 300,
close to the real curve. Given names are grouped by the era of birth, so that a person born
in 1935 is called 清 or 和子 and one born in 2015 蓮 or 陽葵; within an era, weight
``1 / (r + 3)``.

外字 variants (髙橋, 山﨑, 𠮷田 …) are separate entries with their own share of the whole
population (:data:`GAIJI_SURNAME_SHARES`), so the share of people with a 外字 name is set in
one place. Private Use Area characters stand for glyphs that have no Unicode code point;
:data:`PUA_GLYPHS` describes each (a real system keeps such a table as its 外字 dictionary).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- 外字 dictionary: PUA code points used by the synthetic data ----------------------------
PUA_GLYPHS: dict[str, str] = {
    "\ue000": "邊の異体字（しんにょうの点が二つ、自の下が口）",
    "\ue001": "斎の異体字（示の部分が小）",
    "\ue002": "髙の異体字（はしご高、口が一つ）",
    "\ue010": "晴の異体字（日へんが目）",
    "\ue011": "吉の異体字（士の下が口、横棒が短い）",
}


@dataclass(frozen=True, slots=True)
class Name:
    kanji: str
    kana: str  # katakana
    weight: float


def _parse(block: str) -> list[tuple[str, str]]:
    pairs = []
    for line in block.split("\n"):
        for item in line.split():
            kanji, kana = item.split("/")
            pairs.append((kanji, kana))
    return pairs


# 〜300 surnames, most frequent first (readings as commonly read; one reading each).
_SURNAMES = """
佐藤/サトウ 鈴木/スズキ 高橋/タカハシ 田中/タナカ 伊藤/イトウ 渡辺/ワタナベ 山本/ヤマモト 中村/ナカムラ
小林/コバヤシ 加藤/カトウ 吉田/ヨシダ 山田/ヤマダ 佐々木/ササキ 山口/ヤマグチ 松本/マツモト 井上/イノウエ
木村/キムラ 林/ハヤシ 斎藤/サイトウ 清水/シミズ 山崎/ヤマザキ 森/モリ 池田/イケダ 橋本/ハシモト
阿部/アベ 石川/イシカワ 山下/ヤマシタ 中島/ナカジマ 石井/イシイ 小川/オガワ 前田/マエダ 岡田/オカダ
長谷川/ハセガワ 藤田/フジタ 後藤/ゴトウ 近藤/コンドウ 村上/ムラカミ 遠藤/エンドウ 青木/アオキ 坂本/サカモト
斉藤/サイトウ 福田/フクダ 太田/オオタ 西村/ニシムラ 藤井/フジイ 金子/カネコ 岡本/オカモト 藤原/フジワラ
中野/ナカノ 三浦/ミウラ 原田/ハラダ 中川/ナカガワ 松田/マツダ 竹内/タケウチ 小野/オノ 田村/タムラ
中山/ナカヤマ 和田/ワダ 石田/イシダ 森田/モリタ 上田/ウエダ 原/ハラ 内田/ウチダ 柴田/シバタ
酒井/サカイ 宮崎/ミヤザキ 横山/ヨコヤマ 高木/タカギ 安藤/アンドウ 宮本/ミヤモト 大野/オオノ 小島/コジマ
谷口/タニグチ 今井/イマイ 工藤/クドウ 高田/タカダ 増田/マスダ 丸山/マルヤマ 杉山/スギヤマ 村田/ムラタ
大塚/オオツカ 小山/コヤマ 藤本/フジモト 平野/ヒラノ 新井/アライ 河野/コウノ 上野/ウエノ 野口/ノグチ
武田/タケダ 松井/マツイ 千葉/チバ 岩崎/イワサキ 菅原/スガワラ 木下/キノシタ 久保/クボ 佐野/サノ
野村/ノムラ 松尾/マツオ 市川/イチカワ 菊地/キクチ 杉本/スギモト 古川/フルカワ 大西/オオニシ 島田/シマダ
水野/ミズノ 桜井/サクライ 高野/タカノ 渡部/ワタナベ 吉川/ヨシカワ 山内/ヤマウチ 西田/ニシダ 飯田/イイダ
菊池/キクチ 西川/ニシカワ 小松/コマツ 北村/キタムラ 安田/ヤスダ 五十嵐/イガラシ 川口/カワグチ 平田/ヒラタ
関/セキ 中田/ナカタ 久保田/クボタ 服部/ハットリ 東/ヒガシ 岩田/イワタ 土屋/ツチヤ 川崎/カワサキ
福島/フクシマ 本田/ホンダ 辻/ツジ 樋口/ヒグチ 秋山/アキヤマ 田口/タグチ 永井/ナガイ 山中/ヤマナカ
中西/ナカニシ 吉村/ヨシムラ 川上/カワカミ 石原/イシハラ 大橋/オオハシ 松岡/マツオカ 馬場/ババ 浅野/アサノ
荒木/アラキ 大久保/オオクボ 野田/ノダ 小池/コイケ 松下/マツシタ 熊谷/クマガイ 菅野/カンノ 佐久間/サクマ
大川/オオカワ 堀/ホリ 西山/ニシヤマ 小田/オダ 川村/カワムラ 岡崎/オカザキ 松浦/マツウラ 望月/モチヅキ
田辺/タナベ 中井/ナカイ 森本/モリモト 矢野/ヤノ 星野/ホシノ 内藤/ナイトウ 大島/オオシマ 堀内/ホリウチ
岡/オカ 黒田/クロダ 今村/イマムラ 桑原/クワバラ 栗原/クリハラ 荒井/アライ 平井/ヒライ 吉岡/ヨシオカ
川田/カワダ 高山/タカヤマ 小西/コニシ 上原/ウエハラ 早川/ハヤカワ 片山/カタヤマ 宮田/ミヤタ 杉田/スギタ
大石/オオイシ 飯塚/イイヅカ 秋元/アキモト 若林/ワカバヤシ 篠原/シノハラ 須藤/ストウ 関口/セキグチ 根本/ネモト
浜田/ハマダ 横田/ヨコタ 田島/タジマ 大谷/オオタニ 足立/アダチ 奥村/オクムラ 宮下/ミヤシタ 小沢/オザワ
三上/ミカミ 石橋/イシバシ 吉野/ヨシノ 浅井/アサイ 尾崎/オザキ 高島/タカシマ 森下/モリシタ 冨田/トミタ
富田/トミタ 岩本/イワモト 植木/ウエキ 金井/カナイ 長田/ナガタ 奥田/オクダ 岡部/オカベ 宇野/ウノ
白石/シライシ 小谷/コタニ 落合/オチアイ 大森/オオモリ 本間/ホンマ 竹田/タケダ 坂口/サカグチ 土井/ドイ
松村/マツムラ 岩井/イワイ 堤/ツツミ 上村/ウエムラ 細川/ホソカワ 福井/フクイ 大山/オオヤマ 沢田/サワダ
牧野/マキノ 千田/チダ 石塚/イシヅカ 広瀬/ヒロセ 坂井/サカイ 青山/アオヤマ 野崎/ノザキ 入江/イリエ
岸/キシ 藤川/フジカワ 永田/ナガタ 小泉/コイズミ 西尾/ニシオ 三宅/ミヤケ 河合/カワイ 広田/ヒロタ
中尾/ナカオ 萩原/ハギワラ 田代/タシロ 中沢/ナカザワ 平山/ヒラヤマ 北川/キタガワ 吉沢/ヨシザワ 栗田/クリタ
細谷/ホソヤ 関根/セキネ 大木/オオキ 岡野/オカノ 小原/オハラ 南/ミナミ 松永/マツナガ 戸田/トダ
坂田/サカタ 河村/カワムラ 小倉/オグラ 福本/フクモト 松原/マツバラ 宮内/ミヤウチ 荒川/アラカワ 田上/タガミ
渋谷/シブヤ 松山/マツヤマ 西/ニシ 柳田/ヤナギダ 松崎/マツザキ 野中/ノナカ 金田/カネダ 飯島/イイジマ
吉原/ヨシハラ 平川/ヒラカワ 小笠原/オガサワラ 大沢/オオサワ 宮川/ミヤガワ 松野/マツノ 浅見/アサミ 齋藤/サイトウ
渡邊/ワタナベ 町田/マチダ 森川/モリカワ 相馬/ソウマ 宮原/ミヤハラ 今野/コンノ 伊東/イトウ 菅/スガ
古田/フルタ 竹中/タケナカ 中谷/ナカタニ 佐伯/サエキ 長尾/ナガオ 藤岡/フジオカ 村山/ムラヤマ 大竹/オオタケ
宮沢/ミヤザワ 岩瀬/イワセ 堀江/ホリエ 梅田/ウメダ 石山/イシヤマ 中原/ナカハラ 長島/ナガシマ 新田/ニッタ
"""

# 外字 surnames: (kanji, kana, share of the whole population). Sum ≈ 0.65 %; with the 外字
# given names below about 0.7 % of people have a 外字 name.
GAIJI_SURNAME_SHARES: tuple[tuple[str, str, float], ...] = (
    ("髙橋", "タカハシ", 0.00110),
    ("髙木", "タカギ", 0.00040),
    ("髙田", "タカダ", 0.00030),
    ("山﨑", "ヤマザキ", 0.00080),
    ("宮﨑", "ミヤザキ", 0.00040),
    ("岩﨑", "イワサキ", 0.00030),
    ("𠮷田", "ヨシダ", 0.00060),
    ("𠮷川", "ヨシカワ", 0.00020),
    ("德永", "トクナガ", 0.00015),
    ("濵田", "ハマダ", 0.00025),
    ("栁田", "ヤナギダ", 0.00010),
    ("桒原", "クワバラ", 0.00010),
    ("𣘺本", "ハシモト", 0.00015),
    ("渡\ue000", "ワタナベ", 0.00050),
    ("\ue001藤", "サイトウ", 0.00040),
    ("\ue002野", "タカノ", 0.00015),
)

# Given names per era of birth: (first birth year, male block, female block).
_GIVEN_BY_ERA = (
    (
        0,
        """清/キヨシ 茂/シゲル 勇/イサム 博/ヒロシ 実/ミノル 進/ススム 正/タダシ 弘/ヒロシ 三郎/サブロウ 正雄/マサオ
        武/タケシ 明/アキラ 勝/マサル 一郎/イチロウ 正一/ショウイチ 昭/アキラ 修/オサム 稔/ミノル 義雄/ヨシオ 栄/サカエ
        豊/ユタカ 勝利/カツトシ 正夫/マサオ 秀夫/ヒデオ 健一/ケンイチ 哲夫/テツオ 幸雄/ユキオ 和夫/カズオ 光男/ミツオ
        次郎/ジロウ 保/タモツ 四郎/シロウ 孝/タカシ""",
        """和子/カズコ 幸子/サチコ 節子/セツコ 久子/ヒサコ 弘子/ヒロコ 敏子/トシコ 静子/シズコ 清子/キヨコ 文子/フミコ
        美代子/ミヨコ 千代子/チヨコ 照子/テルコ 春子/ハルコ 正子/マサコ 光子/ミツコ とし/トシ ハナ/ハナ キヨ/キヨ
        フミ/フミ 貞子/サダコ 芳子/ヨシコ 富子/トミコ 八重子/ヤエコ 君子/キミコ 登美子/トミコ 絹子/キヌコ 花子/ハナコ
        和江/カズエ トメ/トメ 武子/タケコ 美智子/ミチコ 良子/ヨシコ""",
    ),
    (
        1945,
        """誠/マコト 浩/ヒロシ 隆/タカシ 修/オサム 明/アキラ 博/ヒロシ 茂/シゲル 和彦/カズヒコ 浩二/コウジ 健/ケン
        聡/サトシ 剛/ツヨシ 正樹/マサキ 直樹/ナオキ 哲也/テツヤ 秀樹/ヒデキ 一郎/イチロウ 功/イサオ 浩一/コウイチ
        幸一/コウイチ 克己/カツミ 俊彦/トシヒコ 康弘/ヤスヒロ 英樹/ヒデキ 裕/ユタカ 稔/ミノル 和也/カズヤ 達也/タツヤ
        淳/ジュン 勉/ツトム 清/キヨシ 進/ススム""",
        """恵子/ケイコ 洋子/ヨウコ 京子/キョウコ 幸子/サチコ 和子/カズコ 美智子/ミチコ 由美子/ユミコ 裕子/ユウコ
        直美/ナオミ 久美子/クミコ 真由美/マユミ 明美/アケミ 孝子/タカコ 悦子/エツコ 順子/ジュンコ 典子/ノリコ
        陽子/ヨウコ 智子/トモコ 美穂/ミホ 由美/ユミ 恵美子/エミコ 弘美/ヒロミ 啓子/ケイコ 千恵子/チエコ 節子/セツコ
        純子/ジュンコ 早苗/サナエ 紀子/ノリコ ひとみ/ヒトミ 浩子/ヒロコ 聖子/セイコ 美樹/ミキ""",
    ),
    (
        1970,
        """大輔/ダイスケ 健太/ケンタ 拓也/タクヤ 直樹/ナオキ 達也/タツヤ 和也/カズヤ 誠/マコト 翔/ショウ 剛/ツヨシ
        亮/リョウ 雄一/ユウイチ 健一/ケンイチ 洋平/ヨウヘイ 大介/ダイスケ 智也/トモヤ 修平/シュウヘイ 哲也/テツヤ
        隆之/タカユキ 崇/タカシ 学/マナブ 淳/ジュン 慎一/シンイチ 秀明/ヒデアキ 裕介/ユウスケ 貴之/タカユキ
        健二/ケンジ 竜也/タツヤ 俊介/シュンスケ 拓哉/タクヤ 翼/ツバサ 雅人/マサト 浩之/ヒロユキ""",
        """陽子/ヨウコ 恵/メグミ 愛/アイ 智子/トモコ 裕子/ユウコ 直美/ナオミ 真由美/マユミ 由美/ユミ 久美子/クミコ
        香織/カオリ 麻衣/マイ 舞/マイ 彩/アヤ 美穂/ミホ 絵美/エミ 綾/アヤ 友美/トモミ 明日香/アスカ 沙織/サオリ
        理恵/リエ 千尋/チヒロ 瞳/ヒトミ 由香/ユカ 亜希子/アキコ 麻美/アサミ 奈緒子/ナオコ 幸恵/ユキエ 真紀/マキ
        恵美/エミ 美香/ミカ 優子/ユウコ めぐみ/メグミ""",
    ),
    (
        1990,
        """翔太/ショウタ 拓海/タクミ 大輝/ダイキ 翔/ショウ 健太/ケンタ 大翔/ヒロト 蓮/レン 颯太/ソウタ 陸/リク
        優斗/ユウト 悠斗/ユウト 翼/ツバサ 大和/ヤマト 海斗/カイト 拓真/タクマ 涼/リョウ 駿/シュン 陽斗/ハルト
        直人/ナオト 雄大/ユウダイ 和樹/カズキ 亮太/リョウタ 達也/タツヤ 隼人/ハヤト 光/ヒカル 悠/ユウ 蒼/アオイ
        優/ユウ 勇気/ユウキ 航/ワタル 大地/ダイチ 颯/ハヤテ""",
        """美咲/ミサキ 陽菜/ヒナ さくら/サクラ 葵/アオイ 彩花/アヤカ 七海/ナナミ 結衣/ユイ 優花/ユウカ 美優/ミユ
        萌/モエ 菜々子/ナナコ 愛/アイ 彩乃/アヤノ 真央/マオ 千尋/チヒロ 遥/ハルカ 未来/ミライ 玲奈/レイナ 杏/アン
        凜/リン 花音/カノン 莉子/リコ 美月/ミツキ 明日香/アスカ 舞/マイ 彩/アヤ 沙希/サキ 楓/カエデ 結菜/ユイナ
        茜/アカネ 優奈/ユウナ 愛美/マナミ""",
    ),
    (
        2010,
        """蓮/レン 陽翔/ハルト 湊/ミナト 悠真/ユウマ 蒼/アオイ 樹/イツキ 大和/ヤマト 朝陽/アサヒ 悠人/ユウト
        陽太/ヒナタ 碧/アオイ 律/リツ 新/アラタ 颯/ハヤテ 蒼真/ソウマ 蒼空/ソラ 奏太/ソウタ 大翔/ヒロト 結翔/ユイト
        颯真/ソウマ 湊斗/ミナト 伊織/イオリ 陸斗/リクト 晴/ハル 凪/ナギ 隼/ハヤト 旭/アサヒ 楓/カエデ 岳/ガク
        陽向/ヒナタ 暖/ハル 悠/ユウ""",
        """陽葵/ヒマリ 凛/リン 結愛/ユア 芽依/メイ 紬/ツムギ 結菜/ユイナ 杏/アン さくら/サクラ 莉子/リコ 葵/アオイ
        澪/ミオ 心春/コハル 陽菜/ヒナ 咲良/サクラ 美桜/ミオ 結衣/ユイ 花/ハナ 詩/ウタ 楓/カエデ 彩葉/イロハ
        一花/イチカ 結月/ユヅキ 心結/ミユ 翠/スイ 凪/ナギ 琴葉/コトハ 芽生/メイ 愛莉/アイリ 美結/ミユ 杏奈/アンナ
        紗希/サキ 日葵/ヒマリ""",
    ),
)

# 外字 given names: (first birth year of the era, sex "1"/"2", kanji, kana, share within that era and sex).
GAIJI_GIVEN_SHARES: tuple[tuple[int, str, str, str, float], ...] = (
    (0, "1", "𠮷男", "ヨシオ", 0.0010),
    (0, "2", "德子", "ノリコ", 0.0008),
    (0, "2", "\ue010子", "ハルコ", 0.0005),
    (1945, "1", "髙志", "タカシ", 0.0008),
    (1945, "2", "\ue011江", "ヨシエ", 0.0005),
    (1970, "1", "德之", "ノリユキ", 0.0004),
)

ERA_START_YEARS: tuple[int, ...] = tuple(start for start, _m, _f in _GIVEN_BY_ERA)


def _ranked(pairs: list[tuple[str, str]], offset: int) -> list[Name]:
    return [Name(kanji, kana, 1.0 / (rank + offset)) for rank, (kanji, kana) in enumerate(pairs, start=1)]


def _with_gaiji(regular: list[Name], gaiji: list[tuple[str, str, float]]) -> list[Name]:
    """Adds 外字 entries so that each takes its given share of the combined weight."""
    total_share = sum(share for _k, _r, share in gaiji)
    regular_total = sum(n.weight for n in regular)
    whole = regular_total / (1.0 - total_share)
    return regular + [Name(kanji, kana, share * whole) for kanji, kana, share in gaiji]


def surnames() -> list[Name]:
    return _with_gaiji(_ranked(_parse(_SURNAMES), 5), list(GAIJI_SURNAME_SHARES))


def given_names(era_start: int, sex: str) -> list[Name]:
    """Given names for people born in the era starting ``era_start``; ``sex`` "1" male, "2" female."""
    for start, male, female in _GIVEN_BY_ERA:
        if start == era_start:
            regular = _ranked(_parse(male if sex == "1" else female), 3)
            gaiji = [(k, r, s) for st, sx, k, r, s in GAIJI_GIVEN_SHARES if st == era_start and sx == sex]
            return _with_gaiji(regular, gaiji)
    raise ValueError(f"no era starts in {era_start}")


def era_of(birth_year: int) -> int:
    """The start year of the era a birth year belongs to."""
    era = ERA_START_YEARS[0]
    for start in ERA_START_YEARS:
        if birth_year >= start:
            era = start
    return era
