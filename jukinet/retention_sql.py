"""Erasing expired rows in committed batches: the one loop honnin and fuhyo retention share.

A daily run may meet hundreds of thousands of expired rows (a year's history of a large city);
one DELETE would hold its locks and its WAL for the whole run. Each batch is its own
transaction, so a run killed half-way keeps what it erased and the next run goes on.
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction

BATCH_ROWS = 5000


def erase_in_batches(*, table: str, key: str, condition: str, params: list, batch_rows: int = BATCH_ROWS) -> int:
    """Delete the rows of ``table`` matching ``condition`` (SQL on alias ``r``, with ``params``),
    a batch per transaction, walking ``(key, id)`` upwards. Returns the rows erased.

    The walk matters: "DELETE … WHERE id IN (SELECT … LIMIT n)" repeated from the start of the
    index reads every entry the earlier batches deleted again (they stay in the index until
    vacuum), so a large erasure would grow quadratically. ``key`` is the indexed column the
    condition bounds (retain_until, notified_on, stamped_at).
    """
    select = f"SELECT r.id, r.{key} AS k FROM {table} r WHERE {condition}"  # noqa: S608 - names from code
    order = f" ORDER BY r.{key}, r.id LIMIT %s"
    first = _delete_sql(table, select + order)
    following = _delete_sql(table, select + f" AND (r.{key}, r.id) > (%s, %s)" + order)
    total = 0
    last = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if last is None:
                cursor.execute(first, [*params, batch_rows])
            else:
                cursor.execute(following, [*params, *last, batch_rows])
            erased = cursor.fetchall()
        total += len(erased)
        if len(erased) < batch_rows:
            return total
        last = max(erased)


def _delete_sql(table: str, select: str) -> str:
    return f"WITH doomed AS ({select}) DELETE FROM {table} t USING doomed d WHERE t.id = d.id RETURNING d.k, d.id"  # noqa: S608


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
