"""Reads of batch provision: the duty check, set-based matching of many conditions, and the
items of many people at once.

The single-request lookup has its own selectors (provision/selectors.py); the duty check here
is the same rule (an active duty, registered for an active body client, for this file) written
against the models, to be merged with that module's check. Matching is set-based for speed
(docs/batch-provision.md): 住民票コード and 個人番号 (through its HMAC index) with
``= ANY(array)`` per chunk, 4情報 as one join of the chunk's conditions (``unnest``) against
the (name_seion, birth_date) or (name) index, then the optional items checked in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from audit.models import ClientKind, IdentityState, MachineClient
from jukinet.errors import DomainError
from provision import selectors as lookup_selectors
from provision import services as lookup_services
from provision.batch_csv import RowCondition
from provision.models import BatchJob, BatchState, Duty, ProvisionItem, ProvisionRecord

TABLES = {"honnin": "honnin_resident", "fuhyo": "fuhyo_record"}


# --- Duties and clients ----------------------------------------------------------------------


def duty_permitted(*, client: MachineClient | None, duty_code: str, file: str) -> Duty | None:
    """The duty if this client may be given this file under it, else None (the single lookup's
    rule, provision.services.duty_check, for an active body)."""
    if client is None or client.kind != ClientKind.BODY or client.state != IdentityState.ACTIVE:
        return None
    try:
        return lookup_services.duty_check(client=client, file=file, code=duty_code)
    except DomainError:
        return None


def duty_items(duty: Duty, file: str) -> list[str]:
    """The items the duty gives from this file, in the order of API.md's results (the single
    lookup's rule: provision.selectors.duty_items)."""
    return list(lookup_selectors.duty_items(duty=duty, file=file))


def answers_removed(duty: Duty, file: str) -> bool:
    """The single lookup's rule: 消除者 of honnin are answered only to a duty given the 異動事由
    (which tells them apart); removed 附票 records never are."""
    return file == "honnin" and "change_reason" in duty_items(duty, file)


def _live(file: str, include_removed: bool, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    if file == "fuhyo":
        return f"{prefix}status = '0'"
    return "true" if include_removed else f"NOT {prefix}deleted"


def recipients() -> QuerySet[MachineClient]:
    """Bodies and departments a 提供担当 may submit a batch for."""
    return MachineClient.objects.filter(kind=ClientKind.BODY, state=IdentityState.ACTIVE).order_by("name")


def duties_active() -> QuerySet[Duty]:
    return Duty.objects.filter(active=True).order_by("code")


def client_get(*, client_id: str) -> MachineClient | None:
    return MachineClient.objects.filter(client_id=client_id).first()


# --- Batches ---------------------------------------------------------------------------------


_BLOBS = ("conditions", "result", "result_password")


def batch_get(*, batch_id: str, with_blobs: bool = True) -> BatchJob | None:
    """One batch; ``with_blobs=False`` leaves the encrypted conditions and result unread (pages)."""
    rows = BatchJob.objects.select_related("approval").filter(batch_id=batch_id)
    return (rows if with_blobs else rows.defer(*_BLOBS)).first()


def batch_of_client(*, batch_id: str, client: MachineClient, file: str, with_blobs: bool = True) -> BatchJob | None:
    """A client sees only its own batches (another's is "not found", not "forbidden")."""
    rows = BatchJob.objects.filter(batch_id=batch_id, client_id=client.client_id, file=file)
    return (rows if with_blobs else rows.defer(*_BLOBS)).first()


def batches_recent() -> QuerySet[BatchJob]:
    return BatchJob.objects.select_related("approval").defer(*_BLOBS).order_by("-submitted_at", "-pk")


def batches_by_ids(*, batch_ids: Iterable[str]) -> QuerySet[BatchJob]:
    return BatchJob.objects.filter(batch_id__in=list(batch_ids)).defer(*_BLOBS)


def batches_in_state(state: str) -> list[str]:
    return list(BatchJob.objects.filter(state=state).order_by("submitted_at").values_list("batch_id", flat=True))


def batch_records(*, batch: BatchJob) -> list[tuple[int, str, str, list[str], bool]]:
    """(row_number, outcome, error_code, target_codes, my_number_given) of every row, in order."""
    return list(
        ProvisionRecord.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "outcome", "error_code", "target_codes", "my_number_given")
    )


def batch_outputs(*, batch: BatchJob):
    return batch.outputs.order_by("-at")


def batch_lookup_stats() -> dict[str, int]:
    return {state: BatchJob.objects.filter(state=state).count() for state in BatchState.values}


# --- Matching --------------------------------------------------------------------------------


def codes_present(*, file: str, codes: list[str], include_removed: bool) -> dict[str, bool]:
    """住民票コード → whether a 個人番号 is held (always False for fuhyo), for those answered."""
    if not codes:
        return {}
    has_number = "my_number IS NOT NULL" if file == "honnin" else "false"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT juminhyo_code, {has_number} FROM {TABLES[file]}"  # noqa: S608 - fixed names
            f" WHERE juminhyo_code = ANY(%s) AND {_live(file, include_removed)}",
            [codes],
        )
        return dict(cursor.fetchall())


def codes_by_my_number_index(*, indexes: list[bytes]) -> dict[bytes, str]:
    """HMAC index → 住民票コード (honnin only: the fuhyo file holds no 個人番号)."""
    if not indexes:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT my_number_index, juminhyo_code FROM honnin_resident WHERE my_number_index = ANY(%s)", [indexes]
        )
        return {bytes(index): code for index, code in cursor.fetchall()}


def four_info_matches(*, file: str, conditions: list[RowCondition], include_removed: bool) -> dict[int, list[str]]:
    """row_number → the 住民票コード matching that row's 4情報 (0, 1 or more).

    Kana rows join on (name_seion = key, birth_date); rows with a kanji name only join on
    (name = each written form, birth_date). The kanji name (when given with kana), sex and
    address prefix are then checked per candidate.
    """
    table = TABLES[file]
    live = _live(file, include_removed, "r")
    by_row = {c.row_number: c for c in conditions}
    kana = [c for c in conditions if c.kana_key]
    kanji = [(c.row_number, name, c.birth_date) for c in conditions if not c.kana_key for name in c.kanji_names]
    candidates: list[tuple[int, str, str, str, str]] = []
    with connection.cursor() as cursor:
        if kana:
            cursor.execute(
                f"""
                SELECT c.n, r.juminhyo_code, r.name, r.sex, r.address
                FROM unnest(%s::int[], %s::text[], %s::date[]) AS c(n, seion, birth)
                JOIN {table} AS r ON r.name_seion = c.seion AND r.birth_date = c.birth
                WHERE {live}
                """,  # noqa: S608 - the table name comes from the fixed mapping above
                [[c.row_number for c in kana], [c.kana_key for c in kana], [c.birth_date for c in kana]],
            )
            candidates += cursor.fetchall()
        if kanji:
            cursor.execute(
                f"""
                SELECT c.n, r.juminhyo_code, r.name, r.sex, r.address
                FROM unnest(%s::int[], %s::text[], %s::date[]) AS c(n, name, birth)
                JOIN {table} AS r ON r.name = c.name AND r.birth_date = c.birth
                WHERE {live}
                """,  # noqa: S608
                [[k[0] for k in kanji], [k[1] for k in kanji], [k[2] for k in kanji]],
            )
            candidates += cursor.fetchall()
    matches: dict[int, list[str]] = defaultdict(list)
    for number, code, name, sex, address in candidates:
        condition = by_row[number]
        if condition.kanji_names and name not in condition.kanji_names:
            continue
        if condition.sex and sex != condition.sex:
            continue
        if condition.address and not address.startswith(condition.address):
            continue
        if code not in matches[number]:
            matches[number].append(code)
    return {c.row_number: matches.get(c.row_number, []) for c in conditions}


def items_by_codes(*, file: str, codes: list[str], items: list[str], with_my_number: bool) -> dict[str, dict]:
    """住民票コード → the duty's items (and the sealed 個人番号 blob when asked) of each person."""
    if not codes:
        return {}
    columns = ["juminhyo_code", *[i for i in items if i != "juminhyo_code"]]
    if with_my_number and file == "honnin":
        columns.append("my_number")
    for column in columns:  # item names are ProvisionItem values: never text from a request
        if column not in ProvisionItem.values and column != "my_number":
            raise ValueError(column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {TABLES[file]} WHERE juminhyo_code = ANY(%s)",  # noqa: S608
            [codes],
        )
        found = {}
        for row in cursor.fetchall():
            values = dict(zip(columns, row, strict=True))
            for key, value in values.items():
                if isinstance(value, dt.date):
                    values[key] = value.isoformat()
            found[values["juminhyo_code"]] = values
        return found
