"""jukinet/pdf.py: what a printed form carries, read back from the PDF as a reader would.

Text comes back through pdfminer.six, fonts through pypdf, and pages are rasterised with
poppler's pdftoppm (scripts/ensure_system_packages.sh test installs it).
"""

import datetime as dt
import io
import os
import shutil
import subprocess

import pytest
from pdfminer.high_level import extract_text
from PIL import Image
from pypdf import PdfReader

from jukinet import pdf

NAME = "髙﨑 花子"  # 髙 U+9AD9 and 﨑 U+FA11: 外字 by JIS X 0208, but IPAex draws both
SERIAL = "P2026-0000123"


def _rows(count: int) -> list[list[str]]:
    return [
        [f"{10000000000 + i:011d}", NAME, "埼玉県さいたま市浦和区高砂三丁目15番1号", "昭和60年3月1日"]
        for i in range(count)
    ]


def _two_pages() -> pdf.PdfResult:
    return pdf.render_pdf(
        title="本人確認情報 検索結果一覧",
        form_number="様式第1号",
        serial=SERIAL,
        blocks=[
            pdf.Paragraph("検索条件: 氏名 たかさき"),
            pdf.Table(["住民票コード", "氏名", "住所", "生年月日"], _rows(60), col_widths_mm=[30, 35, 75, 30]),
        ],
        issuer=pdf.governor(),
        issued_on=dt.date(2026, 4, 1),
    )


def _text(result: pdf.PdfResult, page: int | None = None) -> str:
    return extract_text(io.BytesIO(result.data), page_numbers=None if page is None else [page])


def test_a_long_table_prints_on_two_numbered_pages_with_title_names_date_and_serial():
    result = _two_pages()
    assert result.data.startswith(b"%PDF-")
    assert result.pages == 2
    assert result.gaiji_marked == 0

    first, second = _text(result, 0), _text(result, 1)
    assert "本人確認情報 検索結果一覧" in first
    assert NAME in first and NAME in second
    assert "令和8年4月1日" in first
    assert "埼玉県知事" in first
    assert "様式第1号" in first
    assert "取扱注意（個人情報）" in first and "取扱注意（個人情報）" in second
    assert f"印刷番号 {SERIAL}" in first and f"印刷番号 {SERIAL}" in second
    assert "1 / 2 ページ" in first and "2 / 2 ページ" in second
    # The header row repeats on the second page, and no row is lost between the pages.
    assert "住民票コード" in second
    whole = first + second
    assert all(f"{10000000000 + i:011d}" in whole for i in range(60))
    assert "外字" not in whole  # no 〓 note without a 〓


def test_a_one_page_document_says_1_of_1():
    one = pdf.render_pdf(title="一枚", form_number="様式第2号", serial=SERIAL, blocks=[pdf.Paragraph("本文")])
    assert one.pages == 1 == PdfReader(io.BytesIO(one.data)).get_num_pages()
    assert "1 / 1 ページ" in _text(one)


def test_a_table_row_with_the_wrong_number_of_cells_is_a_programming_error():
    with pytest.raises(ValueError):
        pdf.render_pdf(title="t", form_number="f", serial=SERIAL, blocks=[pdf.Table(["a", "b"], [["1", "2", "3"]])])


def test_many_pages_are_numbered_against_the_real_total():
    result = pdf.render_pdf(
        title="多数", form_number="様式第2号", serial=SERIAL, blocks=[pdf.Table(["a", "b", "c", "d"], _rows(400))]
    )
    reader = PdfReader(io.BytesIO(result.data))
    assert result.pages == reader.get_num_pages() > 5
    last = _text(result, result.pages - 1)
    assert f"{result.pages} / {result.pages} ページ" in last


def test_the_font_is_embedded_and_no_other_font_is_referenced():
    reader = PdfReader(io.BytesIO(_two_pages().data))
    seen = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            assert "IPAexGothic" in font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"], font["/BaseFont"]
            seen += 1
    assert seen >= 2


def test_the_metadata_names_the_form_and_the_prefecture_not_a_person(settings):
    settings.PREFECTURE_GOVERNOR = "大野 元裕"
    metadata = PdfReader(io.BytesIO(_two_pages().data)).metadata
    assert metadata.title == "本人確認情報 検索結果一覧"
    assert metadata.author == settings.PREFECTURE_NAME
    assert NAME not in str(dict(metadata))


def test_the_issuer_is_the_governor_with_the_configured_name(settings):
    settings.PREFECTURE_NAME = "埼玉県"
    settings.PREFECTURE_GOVERNOR = ""
    assert pdf.governor() == "埼玉県知事"
    settings.PREFECTURE_GOVERNOR = "大野 元裕"
    assert pdf.governor() == "埼玉県知事　大野 元裕"
    result = pdf.render_pdf(
        title="開示決定通知書",
        form_number="様式第7号",
        serial=SERIAL,
        blocks=[],
        issuer=pdf.governor(),
        issued_on=dt.date(2019, 5, 1),
    )
    text = _text(result)
    assert "令和元年5月1日" in text
    # pdfminer reads the ideographic space between title and name back as a plain one.
    assert "埼玉県知事 大野 元裕" in text.replace("\u3000", " ")


def test_a_form_that_is_not_confidential_carries_no_mark():
    result = pdf.render_pdf(title="お知らせ", form_number="", serial=SERIAL, blocks=[], confidential=False)
    assert "取扱注意" not in _text(result)


def test_private_use_and_characters_the_font_lacks_print_as_geta_and_are_counted():
    pua = "\ue000"  # a 外字 with no Unicode code point
    missing = "\U00020bb7"  # 𠮷 (つちよし): in Unicode, not in IPAex
    variation = "葛\U000e0100"  # an ideographic variation sequence: one character, a glyph IPAex lacks
    result = pdf.render_pdf(
        title="外字",
        form_number="様式第1号",
        serial=SERIAL,
        blocks=[
            pdf.KeyValues([("氏名", f"山{pua}太郎"), ("通称", f"{missing}田")]),
            pdf.Table(["氏名"], [[f"{variation}西"]]),
        ],
    )
    assert result.gaiji_marked == 3
    text = _text(result)
    assert "山〓太郎" in text and "〓田" in text and "〓西" in text
    assert pua not in text and missing not in text and "\U000e0100" not in text
    assert "〓は外字（表示できない文字）を示します（3字）" in text


def test_a_repeated_header_counts_its_geta_once():
    result = pdf.render_pdf(
        title="外字", form_number="", serial=SERIAL, blocks=[pdf.Table(["氏\ue000名", "b", "c", "d"], _rows(200))]
    )
    assert result.pages > 1
    assert result.gaiji_marked == 1


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "山田 & 佐藤 <b>太字</b> &amp; &nbsp; <br/> <para>",
        "制御\x00文字\x07と\x1bエスケープ\x7f",
        "右から左\u202e文字\u200b",
        "\ud800",  # a lone surrogate (cannot be encoded at all)
        "あ" * 10_000,
        "x" * 10_000,
    ],
    ids=["script", "markup", "control", "bidi", "surrogate", "long-kana", "long-latin"],
)
def test_hostile_text_prints_literally_and_never_breaks_the_build(value):
    blocks = [
        pdf.Heading(value),
        pdf.Paragraph(value),
        pdf.KeyValues([(value[:50], value)]),
        pdf.Table(["項目", "値"], [[value[:50], value], ["次の行", "続き"]]),
    ]
    result = pdf.render_pdf(title=value[:100], form_number=value[:20], serial=SERIAL, blocks=blocks)
    assert result.pages >= 1
    text = _text(result)
    assert "次の行" in text  # the table after a huge cell is still there
    assert f"{result.pages} / {result.pages} ページ" in text
    if value.startswith("<script>"):
        assert "<script>alert(1)</script>" in text
    if value.startswith("山田"):
        assert "山田 & 佐藤 <b>太字</b> &amp; &nbsp; <br/> <para>" in text
    if value.startswith("制御"):
        assert "制御文字とエスケープ" in text
        assert not any(ch in text for ch in "\x00\x07\x1b\x7f")
    if value.startswith("右から左"):
        assert "右から左文字" in text and result.gaiji_marked == 0
    if value == "\ud800":
        assert result.gaiji_marked > 0


def test_line_breaks_in_a_value_are_kept_and_tabs_become_spaces():
    result = pdf.render_pdf(
        title="t", form_number="", serial=SERIAL, blocks=[pdf.KeyValues([("住所", "一行目\r\n二行目\tの続き")])]
    )
    lines = [line.strip() for line in _text(result).splitlines()]
    assert "一行目" in lines and "二行目 の続き" in lines


def test_a_missing_font_is_a_configuration_error_that_names_the_package(settings, tmp_path):
    settings.PDF_FONT_FILE = str(tmp_path / "no-such-font.ttf")
    with pytest.raises(pdf.PdfConfigurationError) as caught:
        pdf.render_pdf(title="t", form_number="", serial=SERIAL, blocks=[])
    assert "fonts-ipaexfont-gothic" in str(caught.value)
    assert caught.value.status == 503
    assert "印刷" in caught.value.message


def test_a_file_that_is_not_a_font_is_a_configuration_error(settings, tmp_path):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    settings.PDF_FONT_FILE = str(bogus)
    with pytest.raises(pdf.PdfConfigurationError):
        pdf.render_pdf(title="t", form_number="", serial=SERIAL, blocks=[])


@pytest.fixture
def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        message = "pdftoppm not found: install poppler-utils (bash scripts/ensure_system_packages.sh test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_every_page_renders_to_a_png_with_ink_on_it(pdftoppm, tmp_path):
    result = _two_pages()
    source = tmp_path / "form.pdf"
    source.write_bytes(result.data)
    subprocess.run([pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == result.pages == 2
    for path in images:
        with Image.open(path) as image:
            gray = image.convert("L")
            # A4 at 50 dpi is about 413 × 585 pixels.
            assert 400 <= gray.width <= 420 and 575 <= gray.height <= 595
            dark = sum(gray.histogram()[:128])
            assert dark > 1000, f"{path.name} is (nearly) blank"
            # The footer (serial and page number) is inked on every page.
            footer = gray.crop((0, int(gray.height * 0.9), gray.width, gray.height))
            assert sum(footer.histogram()[:128]) > 50, f"{path.name} has no footer"


def test_an_empty_table_prints_its_header_and_a_missing_value_prints_as_nothing():
    result = pdf.render_pdf(
        title="空",
        form_number="",
        serial=SERIAL,
        blocks=[pdf.Table(["住民票コード", "氏名"], []), pdf.KeyValues([("備考", None)])],
    )
    text = _text(result)
    assert "住民票コード" in text and "備考" in text and "None" not in text
