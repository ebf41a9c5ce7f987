"""A real browser on the staff record pages (issue 5 item 6): the 4情報 search typed from the
keyboard with each kind of name and birth date, a fishing search refused, a record opened, its
個人番号 revealed with a reason (and not for 開示窓口担当), printing, the 附票 file, 機構への照会,
and the idle screen blanking over a record. Screenshots: test-artifacts/records-*.png.
"""

import datetime as dt
import io
import random

import pytest
from pdfminer.high_level import extract_text

from audit.models import AccessLogEntry
from jukinet.models import PrintRecord
from tests.people import make_fuhyo, make_resident, my_number_for, number_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Test-Passw0rd!x"  # conftest.staff_login's

PURPOSE_DISCLOSURE = 2  # ArrowDown presses from 「選んでください」 to 「開示請求への対応」
PURPOSE_NATIONAL = 6  # … to 「機構からの照会・確認への対応」
HONNIN_TAB_ORDER = (
    "purpose",
    "reference",
    "name_kana",
    "include_former",
    "name",
    "kanji_prefix",
    "birth_date",
    "sex",
    "address",
    "include_removed",
)
FUHYO_TAB_ORDER = tuple(name for name in HONNIN_TAB_ORDER if name != "include_former")


@pytest.fixture
def people():
    return {
        "taro": make_resident(name="佐藤　太郎", name_kana="サトウ　タロウ", my_number=my_number_for(1)),
        "ken": make_resident(
            name="佐藤　健", name_kana="サトウ　ケン", birth_date=dt.date(1992, 7, 7), my_number=my_number_for(2)
        ),
        "hanako": make_resident(
            name="髙橋　花子", name_kana="タカハシ　ハナコ", sex="2", birth_date=dt.date(1990, 1, 15)
        ),
        "gone": make_resident(name="佐藤　次郎", name_kana="サトウ　ジロウ", deleted=True, change_reason="死亡"),
        "kaede": make_fuhyo(name="岡本　楓", name_kana="オカモト　カエデ", address="アメリカ合衆国カリフォルニア州"),
    }


# --- Keyboard helpers ----------------------------------------------------------------------


def _wait_for_focus(page, name: str) -> None:
    page.wait_for_function(
        "name => document.activeElement && (document.activeElement.name || document.activeElement.id) === name",
        arg=name,
        timeout=5_000,
    )


def _tab(page, name: str) -> None:
    page.keyboard.press("Tab")
    _wait_for_focus(page, name)


def _type(page, text: str) -> None:
    """Type into the focused box and make sure every key arrived."""
    page.keyboard.type(text)
    assert page.evaluate("document.activeElement.value") == text


def _fill_by_keyboard(page, order: tuple[str, ...], values: dict) -> None:
    """The form's first field has the focus; walk it with Tab, type or toggle, Enter to submit.

    ``values``: text for a text box; ``True`` toggles a checkbox with Space; an int is that many
    ArrowDown presses in a select or a radio group. Enter is pressed in the first text box (or
    button) from the last value on. Every Tab is checked to land on the next field of ``order``.
    """
    _wait_for_focus(page, order[0])
    last = max(order.index(name) for name in values)
    for i, name in enumerate(order):
        if i:
            _tab(page, name)
        value = values.get(name)
        if isinstance(value, bool):
            page.keyboard.press("Space")
        elif isinstance(value, int):
            for _ in range(value):
                page.keyboard.press("ArrowDown")
            if page.evaluate("document.activeElement.tagName") == "SELECT":
                assert page.evaluate("document.activeElement.selectedIndex") == value, name
        elif value:
            _type(page, value)
        kind = page.evaluate("document.activeElement.type")
        if i >= last and kind in ("text", "submit"):
            break
    page.keyboard.press("Enter")


def _result_names(page) -> list[str]:
    page.wait_for_selector("#result-title")
    return page.locator(".result-table tbody tr td:nth-child(2)").all_inner_texts()


def _search(page, base: str, file: str, values: dict) -> None:
    page.goto(f"{base}/{file}/search/")
    order = HONNIN_TAB_ORDER if file == "honnin" else FUHYO_TAB_ORDER
    with page.expect_navigation():
        _fill_by_keyboard(page, order, {"purpose": PURPOSE_DISCLOSURE, "reference": "受付第12号", **values})


def _focus(page, selector: str) -> None:
    """Put the cursor in a box (as a click would) and wait until it is there."""
    page.locator(selector).focus()
    page.wait_for_function("sel => document.activeElement === document.querySelector(sel)", arg=selector)


def _print(page, reason_box: str, reason: str, artifact_name: str, artifact) -> str:
    """Type a print reason, press Enter: the PDF opens in a new tab; return its text.

    Chromium's PDF viewer replaces the document it shows, so the answer is read on its way
    (a route that passes it on unchanged): one request, one print.
    """
    _focus(page, reason_box)
    _type(page, reason)
    answers = []

    def pass_on(route):
        answer = route.fetch()
        answers.append((answer.status, answer.headers, answer.body()))
        route.fulfill(response=answer)

    page.context.route("**/print/", pass_on)
    try:
        with page.context.expect_page() as popup_info:
            page.keyboard.press("Enter")
        popup = popup_info.value
        popup.wait_for_load_state()
    finally:
        page.context.unroute("**/print/", pass_on)
    [(status, headers, data)] = answers
    assert status == 200, data[:300]
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline;")
    assert data.startswith(b"%PDF-")
    popup.wait_for_timeout(800)  # the viewer draws the page; the screenshot is evidence only
    artifact(artifact_name, popup, full_page=False)
    popup.close()
    return extract_text(io.BytesIO(data))


def _open_first_result(page, expected_kana: str) -> None:
    """The first result link has the focus after a search: Enter opens it."""
    page.wait_for_function(
        "text => document.activeElement && document.activeElement.textContent.trim() === text", arg=expected_kana
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#record-items")


# --- Tests ---------------------------------------------------------------------------------


def test_gyomu_searches_by_keyboard_opens_reveals_and_prints(
    live_server, page, staff_login, artifact, people, settings
):
    base = live_server.url
    operator = staff_login("gyomu", login_id="records01", full_name="山田 一郎")
    taro, ken = people["taro"], people["ken"]

    # Each kind of name and birth date, typed: focus starts on the purpose, Tab, Enter.
    searches = [
        ("hiragana", {"name_kana": "さとう たろう", "sex": 1}, ["佐藤　太郎"]),
        ("halfwidth-katakana", {"name_kana": "ｻﾄｳ ﾀﾛｳ", "birth_date": "昭和60年3月"}, ["佐藤　太郎"]),
        ("katakana-no-space", {"name_kana": "サトウタロウ", "birth_date": "S60.3.1"}, ["佐藤　太郎"]),
        ("kanji-no-space", {"name": "佐藤太郎", "birth_date": "1985"}, ["佐藤　太郎"]),
        ("kanji-prefix", {"name": "佐藤", "kanji_prefix": True, "sex": 1}, ["佐藤　健", "佐藤　太郎"]),
    ]
    for n, (label, values, expected) in enumerate(searches, start=1):
        _search(page, base, "honnin", values)
        assert _result_names(page) == expected, label
        assert page.locator("#result-count").inner_text().startswith(f"{len(expected)}件")
        assert not number_in(page.content(), my_number_for(1)) and not number_in(page.content(), my_number_for(2))
        artifact(f"records-{n:02d}-search-{label}")

    # The list of the last search prints: every match, with a reason, in the ledger.
    text = _print(page, "#print_reason", "照会文書への回答のため", "records-06-print-list", artifact)
    listed = PrintRecord.objects.get(actor=operator.login_id, kind="result_list")
    assert set(listed.target_codes) == {taro.juminhyo_code, ken.juminhyo_code} and listed.file == "honnin"
    assert listed.reason == "照会文書への回答のため" and listed.purpose == "disclosure"
    assert listed.serial in text and taro.juminhyo_code in text and ken.juminhyo_code in text

    # A fishing search: the message next to the form, the cursor in the name box.
    page.goto(f"{base}/honnin/search/")
    _fill_by_keyboard(page, HONNIN_TAB_ORDER, {"purpose": PURPOSE_DISCLOSURE, "name_kana": "さとう"})
    page.wait_for_selector("#search-form #search-error")
    assert "検索条件が広すぎます" in page.locator("#search-form #search-error").inner_text()
    _wait_for_focus(page, "name_kana")
    assert page.locator("#result-title").count() == 0
    artifact("records-07-fishing-refused")

    # Open Taro's record from the list (keyboard): the 個人番号 is masked.
    _search(page, base, "honnin", {"name_kana": "さとう たろう", "sex": 1})
    _open_first_result(page, "サトウ　タロウ")
    record_url = page.url
    assert page.locator("h1").inner_text().startswith("本人確認情報")
    assert taro.juminhyo_code in page.locator("#record-items").inner_text()
    assert page.locator("#my-number .masked").inner_text() == "●●●● ●●●● ●●●●"
    assert not number_in(page.content(), my_number_for(1))
    artifact("records-08-record-masked")

    # Reveal it with a reason: typed into the reason box, Enter.
    _focus(page, "#reveal-reason")
    _type(page, "開示請求への回答のため")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "".join(page.locator("#my-number .revealed").text_content().split()) == my_number_for(1)
    assert page.locator("#reveal-form").count() == 0
    artifact("records-09-record-revealed")

    # Print the record; the 個人番号 is never printed from here.
    text = _print(page, "#print-reason", "窓口での本人確認のため", "records-10-print-record", artifact)
    printed = PrintRecord.objects.get(actor=operator.login_id, kind="record")
    assert printed.target_codes == [taro.juminhyo_code] and printed.reason == "窓口での本人確認のため"
    assert printed.serial in text and taro.juminhyo_code in text and not number_in(text, my_number_for(1))

    # The test's database holds a log entry for each step, with the purpose and no 個人番号.
    entries = AccessLogEntry.objects.filter(actor=operator.login_id)
    assert {"record.search", "record.view", "my_number.reveal"} <= set(entries.values_list("action", flat=True))
    assert entries.filter(action="record.search", outcome="refused").exists()  # the fishing search
    reveal = entries.get(action="my_number.reveal")
    assert (reveal.target_code, reveal.duty, reveal.outcome) == (taro.juminhyo_code, "disclosure", "ok")
    assert "開示請求への回答のため" in reveal.detail
    view = entries.filter(action="record.view", target_code=taro.juminhyo_code).latest("id")
    assert view.duty == "disclosure" and view.id < reveal.id
    for entry in entries:
        assert my_number_for(1) not in f"{entry.detail} {entry.target_code}"

    # 附票: the same search by keyboard; the record has 最終住所 and no 個人番号.
    _search(page, base, "fuhyo", {"name_kana": "おかもと", "address": "ｱﾒﾘｶ"})
    assert _result_names(page) == ["岡本　楓"]
    artifact("records-11-fuhyo-search")
    _open_first_result(page, "オカモト　カエデ")
    assert page.locator("h1").inner_text().startswith("附票本人確認情報")
    items = page.locator("#record-items").inner_text()
    assert "最終住所" in items and "アメリカ合衆国カリフォルニア州" in items
    assert page.locator("#my-number").count() == 0 and page.locator("#reveal-form").count() == 0
    artifact("records-12-fuhyo-record")
    assert entries.filter(action="record.view", target_file="fuhyo").exists()

    # Idle on a record: the screen blanks (the record hidden); the password brings it back.
    settings.SCREEN_BLANK_SECONDS = 2
    page.goto(record_url)
    page.wait_for_selector("#screen-lock", state="visible", timeout=10_000)
    assert page.locator("main").evaluate("el => getComputedStyle(el).visibility") == "hidden"
    assert page.locator("#record-items").is_hidden()
    artifact("records-13-record-blanked", full_page=False)
    _wait_for_focus(page, "password")
    _type(page, PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-lock", state="hidden")
    assert page.locator("#my-number .masked").is_visible()  # shown once; masked again


def test_kaiji_sees_no_reveal_form_and_a_direct_post_is_refused(live_server, page, staff_login, artifact, people):
    operator = staff_login("kaiji", login_id="records02", full_name="鈴木 窓口")
    taro = people["taro"]
    _search(page, live_server.url, "honnin", {"name_kana": "さとう たろう", "sex": 1})
    assert _result_names(page) == ["佐藤　太郎"]
    _open_first_result(page, "サトウ　タロウ")
    assert page.locator("#my-number .masked").is_visible()
    assert page.locator("#reveal-form").count() == 0 and "個人番号を表示" not in page.content()
    artifact("records-14-kaiji-record")

    # A hand-made POST with this page's grant and CSRF token is refused, and logged.
    grant = page.locator("#print-form input[name=g]").get_attribute("value")
    csrf = page.locator("#print-form input[name=csrfmiddlewaretoken]").get_attribute("value")
    response = page.request.post(
        f"{live_server.url}/honnin/records/{taro.pk}/my-number/",
        form={"csrfmiddlewaretoken": csrf, "g": grant, "reason": "確認のため"},
        headers={"Referer": page.url},
    )
    assert response.status == 403
    assert not number_in(response.text(), my_number_for(1))
    assert AccessLogEntry.objects.filter(actor=operator.login_id, action="my_number.reveal", outcome="refused").exists()
    assert not AccessLogEntry.objects.filter(action="my_number.reveal", outcome="ok").exists()


def test_national_query_pages_by_code_and_four_info(live_server, page, staff_login, artifact, national):
    from jukinet.codes import generate_juminhyo_code, generate_my_number
    from jukinet.national.models import NationalResident
    from jukinet.national.seed import Person, resident_rows

    rng = random.Random(20261127)
    hanako = Person(
        juminhyo_code=generate_juminhyo_code(rng),
        my_number=generate_my_number(rng),
        name="渡邊　花子",
        name_kana="ワタナベ　ハナコ",
        birth_date=dt.date(1980, 4, 1),
        sex="2",
        address="東京都千代田区本町１丁目２番３号",
        prefecture_code="13",
        change_reason="転入",
        changed_on=dt.date(2020, 4, 1),
    )
    NationalResident.objects.bulk_create(resident_rows(hanako, fuhyo=True))
    staff_login("gyomu", login_id="records03", full_name="高田 照会")

    def ask(file: str, arrows: int, values: dict, shot: str) -> None:
        """Purpose (focused), reference, 照会の方法 (arrow keys), then the key boxes shown for it."""
        page.goto(f"{live_server.url}/national-query/{file}/")
        order = ("purpose", "reference", "by", *values)
        with page.expect_navigation():
            _fill_by_keyboard(
                page, order, {"purpose": PURPOSE_NATIONAL, "reference": "機構照会第7号", "by": arrows, **values}
            )
        page.wait_for_selector("#answer-title")
        rows = page.locator(".national-answer tbody tr")
        assert rows.count() == 1
        row = rows.first.inner_text()
        assert hanako.juminhyo_code in row and "渡邊　花子" in row and "昭和55年4月1日" in row
        assert hanako.my_number not in page.content()
        artifact(shot)

    ask("honnin", 0, {"juminhyo_code": hanako.juminhyo_code}, "records-15-national-honnin-code")
    # 照会の方法: 住民票コード → 個人番号 → 4情報; only the chosen group's boxes take the focus.
    ask(
        "honnin",
        2,
        {"name_kana": "わたなべ はなこ", "name": "", "birth_date": "昭和55年4月1日"},
        "records-16-national-honnin-4info",
    )
    ask("fuhyo", 1, {"name_kana": "ﾜﾀﾅﾍﾞ ﾊﾅｺ", "name": "", "birth_date": "S55.4.1"}, "records-17-national-fuhyo-4info")
    logged = AccessLogEntry.objects.filter(action="national.query", outcome="ok").order_by("id")
    assert [(e.target_file, e.duty) for e in logged] == [("honnin", "national")] * 2 + [("fuhyo", "national")]
