"""The JSON parser of the machine APIs (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

Its own module: DRF imports the parser classes named in the settings while the API modules
themselves are still importing DRF, so this file imports nothing of the project.
"""

import json

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser without its 500s: an unknown or non-UTF-8 charset, JSON nested thousands
    deep (RecursionError) and NaN/Infinity are a 4xx in the API.md shape like any bad body."""

    def parse(self, stream, media_type=None, parser_context=None):
        charset = dict(p.strip().lower().split("=", 1) for p in (media_type or "").split(";")[1:] if "=" in p).get(
            "charset", "utf-8"
        )
        if charset.strip('"') not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(media_type)
        try:
            text = stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError() from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise exceptions.ParseError() from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")
