"""Writes to the honnin file (update notices arrive with the CS flow; key rotation here)."""

from dataclasses import dataclass

from django.db import connection, transaction

from honnin.my_number import my_number_context
from jukinet.crypto import Keyring

# Both tables hold sealed numbers; history rows are bound to the code they had then.
_SEALED_TABLES = ("honnin_resident", "honnin_resident_history")


@dataclass
class RekeyResult:
    table: str
    rewritten: int


def _active_prefix(keyring: Keyring) -> bytes:
    key_id = keyring.active_id.encode()
    return bytes([1, len(key_id)]) + key_id


def resident_my_numbers_rekey(*, keyring: Keyring, batch_size: int = 5000) -> list[RekeyResult]:
    """Re-encrypt every sealed 個人番号 not under the active key; resumable and idempotent.

    Each batch commits on its own, so an interrupted run loses nothing and the next run
    picks up the rows still under an old key.
    """
    prefix = _active_prefix(keyring)
    results = []
    for table in _SEALED_TABLES:
        rewritten = 0
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                # FOR UPDATE: a concurrent update notice must not be overwritten with a stale blob.
                cursor.execute(
                    f"SELECT id, juminhyo_code, my_number FROM {table} "  # noqa: S608 - fixed table names
                    "WHERE id > %s AND my_number IS NOT NULL "
                    "AND substring(my_number from 1 for %s) <> %s "
                    "ORDER BY id LIMIT %s FOR UPDATE",
                    [last_id, len(prefix), prefix, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                updates = []
                for row_id, code, blob in rows:
                    context = my_number_context(code)
                    plain = keyring.decrypt(bytes(blob), context=context)
                    updates.append((keyring.encrypt(plain, context=context), row_id))
                cursor.executemany(f"UPDATE {table} SET my_number = %s WHERE id = %s", updates)  # noqa: S608
                rewritten += len(updates)
                last_id = rows[-1][0]
        results.append(RekeyResult(table=table, rewritten=rewritten))
    return results
