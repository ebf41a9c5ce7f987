"""Every staff page carries the Content-Security-Policy; PDFs are left to the browser's viewer."""

import pytest

from jukinet.security_headers import POLICY


@pytest.mark.django_db
def test_pages_carry_the_policy(staff_client):
    response = staff_client("gyomu").get("/honnin/search/")
    assert response["Content-Security-Policy"] == POLICY
    assert "'unsafe-inline'" not in POLICY and "script-src 'self'" in POLICY


@pytest.mark.django_db
def test_no_template_uses_inline_script_style_or_javascript_urls():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "javascript:" not in text, path
        assert "<script>" not in text and " onclick=" not in text and ' style="' not in text, path
        # An inline <style> element is refused by style-src 'self' just like an attribute.
        assert "<style" not in text, path
