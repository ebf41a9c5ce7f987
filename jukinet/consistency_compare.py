"""The comparison of a staged set with the file: set-based SQL, one slice of codes at a time.

By 住民票コード, in :data:`SLICES` ranges of the code (codes are spread evenly over their
digits), each slice is one statement: the staged rows of the slice full-joined with the file's
current rows of the CS's municipality in the slice. Both sides: *matched* or *different* (the
differing items named, never their values; the 個人番号 compared through its HMAC index); sent
only: *missing here* (noted when the file holds the code as 消除 or under another
municipality); the file's only: *missing there*.

Each slice's differences commit with the slice counter, so a check resumed after a killed
worker starts at the first slice not committed and writes nothing twice. Last, codes missing on
one side only are paired by 4情報 (name, birth date, sex, address; one candidate on each side):
a "code differs" case shows both codes.
"""

from __future__ import annotations

from jukinet.consistency_spec import FileSpec

SLICES = 20
_BOUNDS = [f"{i * 100 // SLICES:02d}" for i in range(SLICES)]  # "00", "05", … "95"
DIFFERENCES = "jukinet_consistencydifference"
FOUR_INFO = ("name", "birth_date", "sex", "address")
COUNT_KEYS = ("matched", "missing_here", "missing_there", "different", "code_differs")


def _slice_condition(alias: str, k: int) -> tuple[str, list[str]]:
    """Codes of slice k: from its bound up to the next (the last slice has no upper bound)."""
    if k + 1 < SLICES:
        return f"{alias}.juminhyo_code >= %s AND {alias}.juminhyo_code < %s", [_BOUNDS[k], _BOUNDS[k + 1]]
    return f"{alias}.juminhyo_code >= %s", [_BOUNDS[k]]


def _items_sql(spec: FileSpec, items: list[str]) -> str:
    cases = []
    for name in items:
        column = spec.column(name)
        if column is None or not column.compared:
            continue
        cases.append(f"CASE WHEN s.{column.stage} IS DISTINCT FROM r.{column.here_column} THEN '{column.name}' END")
    if not cases:
        return "'{}'::text[]"
    return f"array_remove(ARRAY[{', '.join(cases)}]::text[], NULL)"


def compare_slice(cursor, *, spec: FileSpec, stage: str, check_pk: int, items: list[str], scope: list[str], k: int):
    """Write slice k's differences; return its counts (matched, different, missing_here, missing_there).

    One statement: the staged rows of the slice FULL JOINed with the file's current rows of the
    municipality in the slice (each side read once, hashed), so a code on one side only is found
    in the same pass as the items that differ. Only a code missing here looks further: whether
    the file holds it as 消除 or under another municipality (one index probe each).
    """
    where_s, bounds_s = _slice_condition("s", k)
    where_r, bounds_r = _slice_condition("r", k)
    sql = f"""
        WITH cmp AS (
            SELECT COALESCE(s.juminhyo_code, r.juminhyo_code) AS juminhyo_code,
                   s.juminhyo_code IS NOT NULL AS sent,
                   r.juminhyo_code IS NOT NULL AS here,
                   {_items_sql(spec, items)} AS items
            FROM (SELECT * FROM {stage} s WHERE {where_s}) s
            FULL JOIN (
                SELECT * FROM {spec.table} r
                WHERE r.{spec.scope_column} = ANY(%s) AND {spec.current} AND {where_r}
            ) r ON r.juminhyo_code = s.juminhyo_code
        ), written AS (
            INSERT INTO {DIFFERENCES} (consistency_check_id, juminhyo_code, kind, items, counterpart_code, note)
            SELECT %s, c.juminhyo_code,
                   CASE WHEN c.sent AND c.here THEN 'different' WHEN c.sent THEN 'missing_here'
                        ELSE 'missing_there' END,
                   CASE WHEN c.sent AND c.here THEN c.items ELSE '{{}}'::text[] END,
                   '',
                   CASE WHEN c.sent AND NOT c.here THEN COALESCE((
                       SELECT CASE WHEN {spec.removed} THEN 'removed_here' ELSE 'other_municipality_here' END
                       FROM {spec.table} r WHERE r.juminhyo_code = c.juminhyo_code), '')
                   ELSE '' END
            FROM cmp c WHERE NOT (c.sent AND c.here) OR cardinality(c.items) > 0
            RETURNING 1
        )
        SELECT count(*) FILTER (WHERE sent AND here AND cardinality(items) = 0),
               count(*) FILTER (WHERE sent AND here AND cardinality(items) > 0),
               count(*) FILTER (WHERE sent AND NOT here),
               count(*) FILTER (WHERE here AND NOT sent),
               (SELECT count(*) FROM written)
        FROM cmp
    """  # noqa: S608 - table and column names come from the file's spec, never from the request
    cursor.execute(sql, [*bounds_s, scope, *bounds_r, check_pk])
    matched, different, missing_here, missing_there, written = cursor.fetchone()
    if written != different + missing_here + missing_there:
        raise RuntimeError("consistency slice wrote an unexpected number of differences")
    return {"matched": matched, "different": different, "missing_here": missing_here, "missing_there": missing_there}


def pair_by_four_info(cursor, *, spec: FileSpec, stage: str, check_pk: int) -> int:
    """Codes missing on one side with exactly one same-4情報 code on the other: link the two."""
    same = " AND ".join(f"t.{c} = h.{c}" for c in FOUR_INFO)
    s_cols = ", ".join(f"s.{c}" for c in FOUR_INFO)
    r_cols = ", ".join(f"r.{c}" for c in FOUR_INFO)
    cursor.execute(
        f"""
        WITH here AS (
            SELECT d.id, d.juminhyo_code, {s_cols}, count(*) OVER (PARTITION BY {s_cols}) AS n
            FROM {DIFFERENCES} d JOIN {stage} s ON s.juminhyo_code = d.juminhyo_code
            WHERE d.consistency_check_id = %s AND d.kind = 'missing_here'
        ), there AS (
            SELECT d.id, d.juminhyo_code, {r_cols}, count(*) OVER (PARTITION BY {r_cols}) AS n
            FROM {DIFFERENCES} d JOIN {spec.table} r ON r.juminhyo_code = d.juminhyo_code
            WHERE d.consistency_check_id = %s AND d.kind = 'missing_there'
        ), pairs AS (
            SELECT h.id AS here_id, h.juminhyo_code AS here_code, t.id AS there_id, t.juminhyo_code AS there_code
            FROM here h JOIN there t ON {same}
            WHERE h.n = 1 AND t.n = 1
        )
        UPDATE {DIFFERENCES} d SET counterpart_code = p.other, items = ARRAY['juminhyo_code']
        FROM (SELECT here_id AS id, there_code AS other FROM pairs
              UNION ALL SELECT there_id, here_code FROM pairs) p
        WHERE d.id = p.id
        """,  # noqa: S608 - as above
        [check_pk, check_pk],
    )
    return cursor.rowcount // 2
