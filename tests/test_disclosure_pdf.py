"""The disclosure desk's printed forms (disclosure/forms_pdf.py through jukinet.printing), read
back as a resident would: text through pdfminer.six, fonts and metadata through pypdf, and every
page rendered with pdftoppm to a PNG that has ink on it.
"""

import datetime as dt
import io
import os
import shutil
import subprocess

import pytest
from django.utils import timezone
from pdfminer.high_level import extract_text
from PIL import Image
from pypdf import PdfReader

from disclosure import forms_pdf
from disclosure.models import DisclosureRequest
from honnin.models import ResidentHistory
from jukinet.models import PrintRecord
from jukinet.wareki import to_wareki
from tests.people import make_resident, number_in
from tests.test_disclosure_requests import MY_NUMBER, confirm, register

pytestmark = pytest.mark.django_db

REASON = "開示請求への対応"


@pytest.fixture
def desk(staff_client):
    return staff_client("kaiji")


@pytest.fixture
def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        message = "pdftoppm not found: install poppler-utils (bash scripts/ensure_system_packages.sh test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _resident(**fields):
    return make_resident(
        name=fields.pop("name", "山田　太郎"), name_kana="ヤマダ　タロウ", birth_date=dt.date(1985, 3, 1), sex="1",
        address="埼玉県川越市元町一丁目１番１号", my_number=MY_NUMBER, **fields,
    )  # fmt: skip


def _history(resident, addresses: list[str]) -> None:
    """Earlier versions of the record, newest first (each one moved from the next address)."""
    fields = {
        f.name: getattr(resident, f.name)
        for f in ResidentHistory._meta.fields
        if f.name not in ("id", "resident", "superseded_at", "retain_until", "my_number", "my_number_index")
    }
    for i, address in enumerate(addresses):
        ResidentHistory.objects.create(
            **{**fields, "address": address, "update_seq": len(addresses) - i, "change_reason": "転居",
               "changed_on": dt.date(2019, 1, 1) - dt.timedelta(days=30 * i)},
            resident=resident, superseded_at=timezone.now() - dt.timedelta(days=30 * (i + 1)),
            retain_until=dt.date(2035, 1, 1),
        )  # fmt: skip


def _decided(desk, resident, decision: str = "disclose", **request_fields) -> DisclosureRequest:
    row = register(desk, **request_fields)
    extra = {"accept_mismatch": "on", "match_note": "本人確認書類で確認"} if "subject_name" in request_fields else {}
    assert confirm(desk, row, candidate=resident.juminhyo_code, **extra).status_code == 302
    data = {"decision": decision}
    if decision == "non_disclose":
        data["decision_reason"] = "法令の規定により開示しないこととされている情報に該当するため。"
    assert desk.post(f"/disclosure/requests/{row.pk}/decide/", data).status_code == 302
    row.refresh_from_db()
    return row


def _print(desk, row, form: str) -> tuple[bytes, str, PrintRecord]:
    response = desk.post(f"/disclosure/requests/{row.pk}/print/{form}/", {"reason": REASON})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    printed = PrintRecord.objects.order_by("-id").first()
    assert response["Content-Disposition"] == f'inline; filename="{printed.serial}.pdf"'
    return response.content, extract_text(io.BytesIO(response.content)), printed


def _pages_have_ink(pdftoppm: str, data: bytes, tmp_path, pages: int) -> None:
    source = tmp_path / "form.pdf"
    source.write_bytes(data)
    subprocess.run([pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for path in images:
        with Image.open(path) as image:
            gray = image.convert("L")
            assert 400 <= gray.width <= 420 and 575 <= gray.height <= 595  # A4 at 50 dpi
            assert sum(gray.histogram()[:128]) > 1000, f"{path.name} is (nearly) blank"
            footer = gray.crop((0, int(gray.height * 0.9), gray.width, gray.height))
            assert sum(footer.histogram()[:128]) > 50, f"{path.name} has no footer"
        path.unlink()


def _fonts_embedded(data: bytes) -> None:
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object(), font["/BaseFont"]


# --- The decision notice ---------------------------------------------------------------------------


def test_the_disclosure_notice_says_what_was_decided_who_issues_it_and_that_it_is_free(
    desk, settings, pdftoppm, tmp_path
):
    settings.PREFECTURE_GOVERNOR = "埼玉　一郎"
    resident = _resident()
    row = _decided(desk, resident)
    data, text, printed = _print(desk, row, "notice")
    today = to_wareki(timezone.localdate())
    assert "様式第1号" in text and "本人確認情報開示決定通知書" in text
    assert row.request_no in text and today in text and "埼玉県知事 埼玉 一郎" in text.replace("\u3000", " ")
    assert "山田 太郎 様" in text.replace("\u3000", " ")
    assert "手数料は無料です" in text and "開示する" in text and "昭和60年3月1日生" in text
    assert f"印刷番号 {printed.serial}" in text and "1 / 1 ページ" in text
    assert "審査請求" not in text  # the notice of the right to review is for a refusal
    assert not number_in(text, MY_NUMBER) and resident.juminhyo_code not in text
    assert printed.kind == "disclosure_notice" and printed.purpose == "disclosure" and printed.reason == REASON
    assert printed.target_codes == [resident.juminhyo_code] and printed.pages == 1
    metadata = PdfReader(io.BytesIO(data)).metadata
    assert metadata.title == "本人確認情報開示決定通知書" and metadata.author == "埼玉県"
    _fonts_embedded(data)
    _pages_have_ink(pdftoppm, data, tmp_path, 1)


def test_the_refusal_notice_gives_the_reason_and_the_right_of_review(desk, pdftoppm, tmp_path):
    resident = _resident()
    row = _decided(desk, resident, "non_disclose")
    data, text, printed = _print(desk, row, "notice")
    flat = "".join(text.split())
    assert "様式第2号" in text and "本人確認情報不開示決定通知書" in text and row.request_no in text
    assert "開示しないこととされている情報に該当するため" in flat
    assert "審査請求" in flat and "3か月以内" in flat and "6か月以内" in flat and "手数料は無料です" in flat
    assert printed.kind == "disclosure_notice"
    _pages_have_ink(pdftoppm, data, tmp_path, printed.pages)


# --- The disclosed information -----------------------------------------------------------------------


def test_the_disclosed_information_lists_the_current_items_with_the_my_number(desk, pdftoppm, tmp_path):
    resident = _resident()
    row = _decided(desk, resident)
    data, text, printed = _print(desk, row, "record")
    assert "様式第3号" in text and "開示する本人確認情報" in text and row.request_no in text
    for item in ("住民票コード", resident.juminhyo_code, "漢字氏名", "山田 太郎", "ふりがな氏名", "ヤマダ タロウ",
                 "生年月日", "昭和60年3月1日", "性別", "男", "住所", "埼玉県川越市元町一丁目１番１号",
                 "市町村コード", "112011 川越市", "異動事由", "転入", "令和2年4月1日", "状態", "現存"):  # fmt: skip
        assert item in text.replace("\u3000", " "), item
    # The 個人番号, grouped in fours, on this form only; never in the ledger or the log.
    assert number_in(text, MY_NUMBER) and f"{MY_NUMBER[:4]} {MY_NUMBER[4:8]} {MY_NUMBER[8:]}" in text
    assert "修正前" not in text  # no history was asked for
    assert "操作者ID" not in text and "操作端末ID" not in text  # bookkeeping, not about the person
    assert printed.kind == "disclosure_record" and printed.target_codes == [resident.juminhyo_code]
    assert MY_NUMBER not in printed.reason
    _fonts_embedded(data)
    _pages_have_ink(pdftoppm, data, tmp_path, printed.pages)


def test_history_on_request_marks_what_changed_and_runs_over_pages_with_page_numbers(desk, pdftoppm, tmp_path):
    resident = _resident()
    _history(resident, [f"埼玉県さいたま市浦和区高砂三丁目{n}番{n}号" for n in range(1, 61)])
    row = _decided(desk, resident, include_history="on")
    data, text, printed = _print(desk, row, "record")
    assert printed.pages >= 2
    assert "2 修正前の本人確認情報（60件、新しい順）" in text
    flat = "".join(text.split())
    assert "高砂三丁目1番1号＊" in flat and "高砂三丁目60番60号＊" in flat
    assert "＊は、その次の版（より新しい情報）で変更された項目です。" in flat
    for page in range(1, printed.pages + 1):
        assert f"{page} / {printed.pages} ページ" in text
    # The header row repeats on every page of the table.
    assert text.count("異動年月日") >= printed.pages
    _pages_have_ink(pdftoppm, data, tmp_path, printed.pages)


def test_a_gaiji_prints_as_a_geta_and_is_counted(desk, pdftoppm, tmp_path):
    resident = _resident(name="山田　\ue000郎")
    row = _decided(desk, resident, subject_name="山田　太郎")  # the desk accepts the 外字 as a difference
    data, text, printed = _print(desk, row, "record")
    assert "山田 〓郎" in text.replace("\u3000", " ")
    assert "〓は外字（表示できない文字）を示します（1字）" in text
    assert printed.gaiji_marked == 1
    _pages_have_ink(pdftoppm, data, tmp_path, printed.pages)


def test_the_blocks_refuse_a_request_that_was_not_disclosed():
    resident = _resident()
    row = DisclosureRequest(
        request_no="開示2026-000001", file="honnin", decision="non_disclose", matched_code=resident.juminhyo_code
    )
    with pytest.raises(ValueError):
        forms_pdf.disclosed_record_blocks(row, resident, [], my_number=MY_NUMBER)


def test_the_shared_pieces_for_the_other_desk_forms():
    row = DisclosureRequest(
        request_no="訂2026-000001", file="fuhyo", channel="post", received_on=dt.date(2026, 4, 1),
        requester_name="山田　花子", relation="agent", agent_basis="成年後見人",
    )  # fmt: skip
    rows = dict(forms_pdf.request_rows(row, subject_name="山田　太郎"))
    assert rows == {
        "受付番号": "訂2026-000001",
        "請求年月日": "令和8年4月1日",
        "受付方法": "郵送",
        "請求者": "山田　花子（法定代理人・成年後見人）",
        "本人": "山田　太郎",
    }
    blocks = forms_pdf.request_header_blocks(row, lead="次のとおり通知します。", rows=[("決定", "訂正")])
    assert blocks[0].text == "山田　花子　様" and blocks[1].text == "次のとおり通知します。"
    assert blocks[2].rows[-1] == ("決定", "訂正")
    assert forms_pdf.fee_block().text == "手数料は無料です。"
    assert "3か月以内" in forms_pdf.review_notice_blocks()[1].text
    assert forms_pdf.wareki(None) == "" and forms_pdf.info_label("fuhyo") == "附票本人確認情報"
    assert forms_pdf.FORM_NUMBER_CORRECTION == "様式第4号"
