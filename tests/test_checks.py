from jukinet.checks import pdf_font_present


def test_a_missing_pdf_font_is_a_startup_warning(settings, tmp_path):
    settings.PDF_FONT_FILE = str(tmp_path / "none.ttf")
    [warning] = pdf_font_present(None)
    assert warning.id == "jukinet.W001"
    settings.PDF_FONT_FILE = __file__
    assert pdf_font_present(None) == []
