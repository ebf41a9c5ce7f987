import logging

from jukinet.log_redaction import REDACTED, RedactPersonalNumbersFilter, redact

NUMBER = "983205673214"


def test_a_my_number_in_a_message_is_redacted():
    assert redact(f"lookup {NUMBER} done") == f"lookup {REDACTED} done"
    assert NUMBER not in redact(f"x={NUMBER.translate(str.maketrans('0123456789', '０１２３４５６７８９'))}")


def test_longer_and_shorter_digit_runs_are_left_alone():
    # 住民票コード (11 digits) and timestamps are not 個人番号-shaped.
    assert redact("12345678906") == "12345678906"
    assert redact("20261126120000123") == "20261126120000123"


def test_the_filter_scrubs_arguments_and_exception_text(caplog):
    logger = logging.getLogger("jukinet.test")
    logger.addFilter(RedactPersonalNumbersFilter())
    try:
        with caplog.at_level(logging.INFO, logger="jukinet.test"):
            logger.info("value %s", NUMBER)
            try:
                raise ValueError(f"bad {NUMBER}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert NUMBER not in text
    assert REDACTED in text


def test_the_configured_handlers_carry_the_filter(settings):
    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
