"""``{{ value|gaiji_marked }}``: 外字 shown so that an operator cannot miss them (and ``|wareki``).

A 外字 with a Unicode code point (髙, 﨑, 𠮷 …) is drawn by the system font and underlined,
its code point in the tooltip; a Private Use Area character has no glyph anywhere but in the
municipality's own font, so it is shown as 〓 with its code point (the record view also gives
the 外字数 of the item). Everything else is escaped as usual.
"""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from jukinet.gaiji import count_gaiji, is_gaiji, is_private_use
from jukinet.wareki import to_wareki

register = template.Library()


@register.filter
def gaiji_marked(value) -> str:
    text = "" if value is None else str(value)
    if not count_gaiji(text):
        return escape(text)  # the common case, in one C-level check
    parts = []
    for ch in text:
        if not is_gaiji(ch):
            parts.append(escape(ch))
        elif is_private_use(ch):
            parts.append(f'<span class="gaiji pua" title="外字（私用領域 U+{ord(ch):04X}）">〓</span>')
        else:
            parts.append(f'<span class="gaiji" title="外字 U+{ord(ch):04X}">{escape(ch)}</span>')
    return mark_safe("".join(parts))  # noqa: S308 - every character above is escaped or a fixed tag


@register.filter
def wareki(value) -> str:
    """A date as operators read it: 「昭和60年3月1日」."""
    return to_wareki(value) if value else ""
