"""A real browser at the disclosure desk (issue 7 item 6): the desk clerk registers a disclosure
request from the keyboard, matches it with the record, decides, prints the decision notice (a
real PDF with the request number in its text), then takes a correction request about the same
record to its end — registered from the disclosure, the municipality asked, closed as corrected
by the municipality's update notice — and prints the notice of the outcome. An inquiry is logged
and answered on the way. Screenshots: test-artifacts/desk-*.png.
"""

import datetime as dt
import io
import shutil
import subprocess
import uuid

import pytest
from django.utils import timezone
from pdfminer.high_level import extract_text

from audit.models import AccessLogEntry
from disclosure.models import CorrectionRequest, DisclosureRequest, Inquiry
from disclosure.selectors_corrections import item_choices
from jukinet.models import InboxNotice, InboxState, PrintRecord
from tests.browser.conftest import ARTIFACTS
from tests.people import make_resident

pytestmark = pytest.mark.django_db(transaction=True)

KAWAGOE = "112011"
NEW_ADDRESS = "埼玉県川越市元町二丁目２番２号"


# --- Keyboard helpers (as in test_records_browser.py) ----------------------------------------------


def _wait_for_focus(page, name: str) -> None:
    page.wait_for_function(
        "name => document.activeElement && (document.activeElement.name || document.activeElement.id) === name",
        arg=name,
        timeout=5_000,
    )


def _focus(page, selector: str) -> None:
    """Put the cursor in a box (as a click or Tab would) and wait until it is there."""
    page.locator(selector).focus()
    page.wait_for_function("sel => document.activeElement === document.querySelector(sel)", arg=selector)


def _type(page, selector: str, text: str) -> None:
    """Type into a box from the keyboard and make sure every key arrived."""
    _focus(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    assert page.evaluate("document.activeElement.value") == text


def _arrow(page, selector: str, presses: int) -> None:
    """Choose in a select with the arrow keys."""
    _focus(page, selector)
    for _ in range(presses):
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.selectedIndex") == presses


def _enter(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _print(page, box: str, url_glob: str, shot: str, artifact) -> tuple[bytes, str]:
    """The print reason is in ``box``: Enter opens the PDF in a new tab. Return its bytes and text.

    Chromium's PDF viewer replaces the document it shows, so the answer is read on its way (a
    route that passes it on unchanged): one request, one print.
    """
    _focus(page, box)
    answers = []

    def pass_on(route):
        answer = route.fetch()
        answers.append((answer.status, answer.headers, answer.body()))
        route.fulfill(response=answer)

    page.context.route(url_glob, pass_on)
    try:
        with page.context.expect_page() as popup_info:
            page.keyboard.press("Enter")
        popup = popup_info.value
        popup.wait_for_load_state()
    finally:
        page.context.unroute(url_glob, pass_on)
    [(status, headers, data)] = answers
    assert status == 200, data[:300]
    assert headers["content-type"] == "application/pdf"
    assert data.startswith(b"%PDF-")
    popup.wait_for_timeout(2000)  # the viewer draws the page; the screenshot is evidence only
    artifact(shot, popup, full_page=False)
    popup.close()
    # The first page as paper would show it, rendered by poppler beside the viewer's screenshot.
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm:
        source = ARTIFACTS / f"{shot}.pdf"
        source.write_bytes(data)
        subprocess.run(
            [pdftoppm, "-r", "60", "-png", "-singlefile", "-f", "1", str(source), str(ARTIFACTS / f"{shot}-page1")],
            check=True,
            timeout=60,
        )
        source.unlink()
    return data, extract_text(io.BytesIO(data))


# --- The desk, end to end ---------------------------------------------------------------------------


def test_the_desk_serves_a_disclosure_and_a_correction_to_their_end(live_server, page, staff_login, artifact):
    base = live_server.url
    hanako = make_resident(
        name="山田　花子",
        name_kana="ヤマダ　ハナコ",
        sex="2",
        birth_date=dt.date(1980, 5, 5),
        address="埼玉県川越市元町一丁目１番１号",
        municipality_code=KAWAGOE,
    )
    operator = staff_login("kaiji", login_id="desk-browser", full_name="窓口 一郎")

    # The desk's home: the cursor is on 「開示請求（本人確認情報）」; Enter opens the form.
    page.goto(f"{base}/disclosure/")
    _wait_for_focus(page, "new-disclosure-honnin")
    artifact("desk-01-home")
    _enter(page)

    # The request as the resident wrote it (本人, across the counter; the defaults stand).
    page.wait_for_selector("#register-form")
    _type(page, "#id_subject_name", "山田 花子")
    _type(page, "#id_subject_name_kana", "やまだ はなこ")
    _type(page, "#id_subject_birth_date", "昭和55年5月5日")
    _arrow(page, "#id_subject_sex", 2)  # 選んでください → 男 → 女
    _type(page, "#id_id_document_note", "免許証 第3号")
    _type(page, "#id_subject_address", "埼玉県川越市元町一丁目1番1号")
    artifact("desk-02-disclosure-request")
    _enter(page)

    # 突合: one record, every item the same; the cursor is on 「確定」.
    page.wait_for_selector("#match-outcome")
    assert "一致" in page.locator("#match-outcome").inner_text()
    disclosure = DisclosureRequest.objects.get()
    assert page.locator("#request-no").inner_text() == disclosure.request_no
    artifact("desk-03-match")
    _wait_for_focus(page, "match-submit")
    _enter(page)

    # The decision: 開示 (Space on the first choice), then the button.
    page.wait_for_selector("#decide-form")
    _focus(page, "#decide-form input[name=decision][value=disclose]")
    page.keyboard.press("Space")
    artifact("desk-04-decide")
    _focus(page, "#decide-submit")
    _enter(page)
    disclosure.refresh_from_db()
    assert disclosure.state == "decided" and disclosure.matched_code == hanako.juminhyo_code

    # The decision notice: the reason is filled in; Enter prints.
    page.wait_for_selector("#print-notice-form")
    artifact("desk-05-decided")
    _, text = _print(page, "#notice-reason", "**/print/notice/", "desk-06-disclosure-notice", artifact)
    notice_print = PrintRecord.objects.get(kind="disclosure_notice")
    assert disclosure.request_no in text and notice_print.serial in text and "開示決定通知書" in text
    assert notice_print.actor == operator.login_id and notice_print.target_codes == [hanako.juminhyo_code]

    # The resident says the address is wrong: a correction request from the disclosure just made.
    page.goto(f"{base}/disclosure/corrections/new/?disclosure={disclosure.request_no}")
    page.wait_for_selector("#correction-form")
    assert page.locator("#id_juminhyo_code").input_value() == hanako.juminhyo_code
    assert page.locator("#id_disclosure_no").input_value() == disclosure.request_no
    address_index = [key for key, _ in item_choices("honnin")].index("address") + 1
    _arrow(page, "#id_item", address_index)
    _type(page, "#id_requester_name", "山田 花子")
    _type(page, "#id_requester_reason", "転居の届出をしたが、住所が新しくなっていないため。")
    _type(page, "#id_requested_value", NEW_ADDRESS)
    artifact("desk-07-correction-new")
    _enter(page)  # Enter in the last text box

    page.wait_for_selector("#correction-particulars")
    correction = CorrectionRequest.objects.get()
    assert page.locator("#request-no").inner_text() == correction.request_no
    assert correction.disclosure == disclosure and correction.item == "address"
    assert page.locator("#correction-state").inner_text() == "受付"
    # The cursor waits in the municipality box, which holds the municipality that keeps the record.
    _wait_for_focus(page, "municipality_code")
    assert page.evaluate("document.activeElement.value") == KAWAGOE
    artifact("desk-08-correction-received")
    _enter(page)

    page.wait_for_selector("#no-candidates")
    assert page.locator("#correction-state").inner_text().startswith("調査中")
    artifact("desk-09-correction-investigating")

    # 川越市's CS sends its update notice; the worker applies it (here: the applied inbox row).
    notice = InboxNotice.objects.create(
        file="honnin",
        notice_id="KAWAGOE-20261127-0001",
        receipt=str(uuid.uuid4()),
        client_id="cs-112011",
        municipality_code=KAWAGOE,
        juminhyo_code=hanako.juminhyo_code,
        update_seq=2,
        change_reason="職権修正",
        changed_on=timezone.localdate(),
        record={"address": NEW_ADDRESS},
        state=InboxState.APPLIED,
        decided_at=timezone.now(),
    )
    page.reload()
    page.wait_for_selector("#corrected-form input[type=radio]")
    _wait_for_focus(page, "notice_id")  # the first candidate has the cursor
    page.keyboard.press("Space")
    artifact("desk-10-correction-candidates")
    _focus(page, "#corrected-submit")
    _enter(page)

    page.wait_for_selector("#print-form")
    assert page.locator("#correction-state").inner_text() == "訂正済み"
    assert notice.notice_id in page.locator("#corrected-notice").inner_text()
    artifact("desk-11-correction-corrected")
    _, text = _print(page, "#id_print_reason", "**/corrections/*/print/", "desk-12-correction-notice", artifact)
    flat = "".join(text.split())
    assert correction.request_no in flat and "訂正等の申出に対する結果通知書" in flat and "訂正しました" in flat
    assert "川越市長" in flat
    correction.refresh_from_db()
    assert correction.state == "corrected" and correction.corrected_notice_id == notice.notice_id
    assert PrintRecord.objects.get(kind="correction_notice").purpose == "correction"

    # Each step of both requests is in the log, by this clerk.
    actions = set(AccessLogEntry.objects.filter(actor=operator.login_id).values_list("action", flat=True))
    assert {"correction.register", "correction.investigate", "correction.close", "correction.print"} <= actions
    assert "record.print" in actions


def test_an_inquiry_is_logged_and_answered_from_the_keyboard(live_server, page, staff_login, artifact):
    operator = staff_login("gyomu", login_id="clerk-browser", full_name="業務 花子")
    page.goto(f"{live_server.url}/")
    page.locator("a[href='/disclosure/inquiries/']").focus()
    _enter(page)
    page.wait_for_selector("#inquiry-list")
    _focus(page, "nav.desk a[accesskey=n]")  # 問合せを記録する（Alt+N）
    _enter(page)
    page.wait_for_selector("#inquiry-form")
    _wait_for_focus(page, "channel")
    page.keyboard.press("ArrowDown")  # 窓口 → 電話
    _type(page, "#id_subject", "提供状況の開示は郵送でも請求できますか。")
    artifact("desk-13-inquiry-new")
    _focus(page, "#inquiry-submit")
    _enter(page)

    page.wait_for_selector("#answer-form")
    inquiry = Inquiry.objects.get()
    assert page.locator("#inquiry-no").inner_text() == inquiry.inquiry_no and inquiry.channel == "phone"
    _wait_for_focus(page, "answer")
    page.keyboard.type("郵送でも請求できます。本人確認書類の写しと住民票の写しを同封してください。")
    _focus(page, "#answer-submit")
    _enter(page)
    page.wait_for_selector("#inquiry-answer")
    artifact("desk-14-inquiry-answered")
    inquiry.refresh_from_db()
    assert inquiry.answered_by == operator.login_id and "郵送でも請求できます" in inquiry.answer
    assert page.locator("#answer-form").count() == 0  # an answer is not edited
