"""Erasing expired rows in committed batches: the one loop honnin and fuhyo retention share.

A daily run may meet hundreds of thousands of expired rows (a year's history of a large city);
one DELETE would hold its locks and its WAL for the whole run. Each batch is its own
transaction, so a run killed half-way keeps what it erased and the next run goes on.
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction

BATCH_ROWS = 5000


def erase_in_batches(delete_sql: str, params: list, *, batch_rows: int = BATCH_ROWS) -> int:
    """Run ``delete_sql`` (a DELETE whose inner SELECT ends in ``LIMIT %s``) until it erases
    fewer than a batch; ``params`` come before the limit. Returns the rows erased."""
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(delete_sql, [*params, batch_rows])
            erased = cursor.rowcount
        total += erased
        if erased < batch_rows:
            return total


def removal_cutoff(today: dt.date) -> dt.date:
    """Rows removed strictly before this day have passed their retention on ``today``.

    The period runs from the day of the removal (住基法施行令第30条の6: 消除を行った日から
    起算); a removal on day d is kept through d + N years (jukinet.notice_states.retain_until),
    so it may go once d + N years < today, i.e. d < today - N years. On 29 February the
    cutoff falls back to 28 February: erasing a day late, never a day early.
    """
    years = settings.HISTORY_RETENTION_YEARS
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)
