"""System checks (``manage.py check``) for what the project needs outside Python."""

from pathlib import Path

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def pdf_font_present(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Printing needs its font; say so at start-up rather than at the first print."""
    if Path(settings.PDF_FONT_FILE).is_file():
        return []
    return [
        checks.Warning(
            f"The PDF font file {settings.PDF_FONT_FILE} is missing: printing answers 503 until it is installed.",
            hint="bash scripts/ensure_system_packages.sh run (Debian fonts-ipaexfont-gothic) or set "
            "JUKINET_PDF_FONT_FILE.",
            id="jukinet.W001",
        )
    ]
