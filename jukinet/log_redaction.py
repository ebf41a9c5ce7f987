"""Defence in depth for log output: no 個人番号-shaped digit run leaves the process.

Services never log a 個人番号 on purpose; this filter catches the accident (an exception
text quoting a value, a third-party library echoing a request body).
"""

import logging
import re

# 12 digits, half or full width, not part of a longer run of digits.
_MY_NUMBER_SHAPE = re.compile(r"(?<![0-9０-９])[0-9０-９]{12}(?![0-9０-９])")
REDACTED = "[個人番号秘匿]"


def redact(text: str) -> str:
    return _MY_NUMBER_SHAPE.sub(REDACTED, text)


class RedactPersonalNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
