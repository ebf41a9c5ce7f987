import jaconv
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jukinet.kana import normalize_width, seion_key

# --- one example table per rule ---------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "さとう　たろう",
        "ｻﾄｳ ﾀﾛｳ",
        "サトオ タロオ",
        "サトウ　タロウ",
        "さとお\tたろお",
        " サトウタロウ ",
        "サ ト ウ タ ロ ウ",
        "ｻﾄｵ\u3000ﾀﾛｵ",
    ],
)
def test_every_spelling_of_sato_taro_gives_the_same_key(spelling):
    assert seion_key(spelling) == "サトオタロオ"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # hiragana → katakana
        ("やまだ", "ヤマタ"),
        # half-width → full-width, ﾞ and ﾟ composed before 清音化
        ("ｶﾞｸ", "カク"),
        ("ﾊﾟﾝ", "ハン"),
        ("ｼﾞｮｰｼﾞ", "シヨシ"),
        # separate and combining voiced marks
        ("カ゛ク", "カク"),
        ("か\u3099く", "カク"),
        ("ハ゜ン", "ハン"),
        ("は\u309aん", "ハン"),
        # 清音化
        ("ガギグゲゴ", "カキクケコ"),
        ("ザジズゼゾ", "サシスセソ"),
        ("ダデド", "タテト"),
        ("バビブベボ", "ハヒフヘホ"),
        ("パピプペポ", "ハヒフヘホ"),
        # ヂ and ヅ are read as ジ and ズ, then de-voiced
        ("ヂ", "シ"),
        ("ヅ", "ス"),
        ("チヂミ", "チシミ"),
        ("ツヅキ", "ツスキ"),
        ("つづき", "ツスキ"),
        ("ﾂﾞﾁﾞ", "スシ"),
        ("つ゛ち゛", "スシ"),
        # small kana → large
        ("ァィゥェォ", "アイウエオ"),
        ("ガッコウ", "カツコオ"),
        ("キャ キュ キョ", "キヤキユキヨ"),
        ("ヵヶ", "カケ"),
        ("ゕゖ", "カケ"),
        ("ㇰㇱㇲ", "クシス"),
        # ヴ family
        ("ヴァイオリン", "ハイオリン"),
        ("ゔぁいおりん", "ハイオリン"),
        ("ｳﾞｧｲｵﾘﾝ", "ハイオリン"),
        ("ウ゛ァイオリン", "ハイオリン"),
        ("ヴィ", "ヒ"),
        ("ヴ", "フ"),
        ("ヴェ", "ヘ"),
        ("ヴォ", "ホ"),
        ("ヷヸヹヺ", "ハヒヘホ"),
        ("ワ゛", "ハ"),
        # ヲ → オ, ヰ → イ, ヱ → エ, ワ and ハ alike (canonical ハ)
        ("ヲ", "オ"),
        ("ヰ", "イ"),
        ("ヱ", "エ"),
        ("ゐゑ", "イエ"),
        ("ワタナベ", "ハタナヘ"),
        ("ハタナベ", "ハタナヘ"),
        ("ヮ", "ハ"),
        # オ段 + ウ → オ, from the second character on
        ("コウ", "コオ"),
        ("キョウコ", "キヨオコ"),
        ("キヨオコ", "キヨオコ"),
        ("ユウコ", "ユウコ"),  # ユ is ウ段, not オ段
        ("ウメ", "ウメ"),  # a leading ウ has nothing before it
        ("オウ", "オオ"),
        ("ゴウ", "コオ"),
        ("ヲウ", "オオ"),
        ("ショウ", "シヨオ"),
        ("コウウ", "コオオ"),
        ("ヨウウウ", "ヨオオオ"),
        # long-vowel marks and dashes are removed
        ("サトー", "サト"),
        ("サト-", "サト"),
        ("サトｰ", "サト"),
        ("サ―ト－ル‐ン‒タ–ロ—ウ─ミ−ス", "サトルンタロオミス"),
        ("コーウ", "コオ"),
        # iteration marks repeat the kana before them (the voiced one de-voiced)
        ("みすゞ", "ミスス"),
        ("ミスヽ", "ミスス"),
        ("コヽヽ", "コココ"),
        ("ヽ", "ヽ"),
        # middle dots are removed like spaces
        ("ジョン・スミス", "シヨンスミス"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "シヨンスミス"),
        # Latin: full-width and upper case; digits full-width; kanji kept
        ("Smith", "ＳＭＩＴＨ"),
        ("ｓｍｉｔｈ", "ＳＭＩＴＨ"),
        ("O'Neil", "Ｏ＇ＮＥＩＬ"),
        ("山田　太郎", "山田太郎"),
        ("髙橋 𠮷男", "髙橋𠮷男"),
        ("\ue000外字", "\ue000外字"),
        ("12", "１２"),
        # nothing at all
        ("", ""),
        ("\u3000 \t", ""),
    ],
)
def test_each_rule_maps_its_examples(text, key):
    assert seion_key(text) == key


def test_the_o_row_u_rule_also_applies_across_the_space_between_surname_and_given_name():
    # Spaces are ignored before the rule runs: documented in the module docstring.
    assert seion_key("サトオ ウメ") == "サトオオメ"
    assert seion_key("サトウ ウメ") == seion_key("さとう　うめ")


def test_normalize_width_aligns_script_and_width_but_keeps_voicing():
    assert normalize_width("ｶﾞｸ ｾｲ") == "カ\u3099クセイ"
    assert normalize_width("がくせい") == "ガクセイ"
    assert normalize_width("abc ＸＹＺ") == "ＡＢＣＸＹＺ"


# --- properties -------------------------------------------------------------------------

# Every katakana letter a name can hold, with the marks that appear in names.
KATAKANA = [chr(c) for c in range(ord("ァ"), ord("ヺ") + 1)] + ["ー", "ヽ", "ヾ"]
katakana_names = st.lists(st.sampled_from(KATAKANA), min_size=1, max_size=12).map("".join)


@given(st.text())
@example("ｳﾞｧ")
@example("コウ ウ")
@example("コヽウ")
@example("ヽヽ")
@example("ウ゛ ゛ァ")
@example("a\u3099ー")
def test_the_key_is_idempotent_on_any_text(text):
    key = seion_key(text)
    assert seion_key(key) == key


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_the_key_never_raises_and_never_holds_spaces_or_dashes(text):
    key = seion_key(text)
    assert not any(c in key for c in " \u3000\tー-－")


@given(katakana_names)
def test_the_hiragana_form_of_a_katakana_name_gives_the_same_key(name):
    assert seion_key(jaconv.kata2hira(name)) == seion_key(name)


@given(katakana_names)
def test_the_half_width_form_of_a_katakana_name_gives_the_same_key(name):
    assert seion_key(jaconv.z2h(name, kana=True)) == seion_key(name)


@given(
    katakana_names,
    st.lists(st.tuples(st.integers(min_value=0), st.sampled_from([" ", "\u3000", "\t", "  "])), max_size=4),
    st.sampled_from(["katakana", "hiragana", "half-width"]),
)
def test_spaces_inserted_anywhere_in_any_form_do_not_change_the_key(name, insertions, form):
    text = {
        "katakana": name,
        "hiragana": jaconv.kata2hira(name),
        "half-width": jaconv.z2h(name, kana=True),
    }[form]
    for position, space in insertions:
        cut = position % (len(text) + 1)
        text = text[:cut] + space + text[cut:]
    assert seion_key(text) == seion_key(name)


@given(katakana_names)
def test_a_key_holds_only_plain_large_katakana(name):
    key = seion_key(name)
    assert not set(key) & set("ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォッャュョヮヵヶヲワヰヱー")
