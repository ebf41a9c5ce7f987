"""The hash chain over the access log: sealing, verification and the published chain head.

Writers insert entries unsealed (``audit.access_log.log_event``), so no request waits on a
chain-wide lock. One sealer at a time (a PostgreSQL advisory lock) takes the unsealed
entries in id order and links them: ``seal_seq`` continues the sequence and

    entry_hash = sha256(prev_hash + canonical JSON of the entry's content)

where ``prev_hash`` is the ``entry_hash`` of the entry at ``seal_seq - 1`` (64 zeros for
the first). The chain order is ``seal_seq``, not ``id``: ids come from a sequence and a
transaction holding a lower id may commit after a higher id was already sealed. That entry
is simply sealed by a later run and gets a later ``seal_seq``; the verifier follows
``seal_seq`` only, so a late commit is never mistaken for reordering.

Once a day the head of the chain (its last ``seal_seq`` and ``entry_hash``) is signed with
an HMAC key the database does not hold and written both to ``ChainHead`` and to a JSON-lines
file outside the database. Whoever rewrites the whole chain (and recomputes every hash) can
do so only after the last head they cannot forge.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AccessLogEntry, ChainHead

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the sealer's advisory lock ("JUKISEAL" as ASCII, fits a bigint).
SEALER_LOCK_KEY = 0x4A554B495345414C
HEAD_KEY_ENV = "JUKINET_AUDIT_HEAD_KEY"

# The content the hash covers, in the order they are read. The seal columns are the chain
# itself; the order among entries is carried by prev_hash.
CONTENT_FIELDS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor",
    "terminal",
    "action",
    "target_file",
    "target_code",
    "duty",
    "outcome",
    "detail",
    "request_id",
    "remote_addr",
)

# An unsealed entry older than this means the sealer is not running.
UNSEALED_STALE_AFTER = timedelta(minutes=5)
# How many problems of each kind a report lists (the count is always exact).
MAX_LISTED_PROBLEMS = 1000
# Looking up where a broken link points is a scan (no index on entry_hash): done for the first few only.
MAX_LINK_LOOKUPS = 20


class HeadKeyError(RuntimeError):
    """The chain-head signing key is missing or unusable."""


# --- hashing ------------------------------------------------------------------------------


def canonical_content(values: dict) -> str:
    """The entry's content as canonical JSON (sorted keys, no spaces, UTF-8 text as is)."""
    payload = {name: values[name] for name in CONTENT_FIELDS}
    payload["occurred_at"] = payload["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_digest(prev_hash: str, values: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_content(values)).encode("utf-8")).hexdigest()


# --- sealing ------------------------------------------------------------------------------


def _last_sealed() -> tuple[int, str]:
    row = (
        AccessLogEntry.objects.filter(seal_seq__isnull=False)
        .order_by("-seal_seq")
        .values_list("seal_seq", "entry_hash")
        .first()
    )
    return row if row is not None else (0, GENESIS_HASH)


def _seal_one_batch(batch_size: int) -> int | None:
    """Seal up to ``batch_size`` entries in one transaction. None: another sealer holds the lock."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Two sealers reading the same last seal_seq would fork the chain (and one would hit
        # the unique seal_seq). The lock is released at commit, so the next run sees our work.
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEALER_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return None
        seq, prev_hash = _last_sealed()
        rows = list(
            AccessLogEntry.objects.filter(seal_seq__isnull=True).order_by("id").values(*CONTENT_FIELDS)[:batch_size]
        )
        if not rows:
            return 0
        ids, seqs, prevs, hashes = [], [], [], []
        for values in rows:
            seq += 1
            digest = entry_digest(prev_hash, values)
            ids.append(values["id"])
            seqs.append(seq)
            prevs.append(prev_hash)
            hashes.append(digest)
            prev_hash = digest
        # One set-based UPDATE per batch; the trigger checks every row stays otherwise unchanged.
        cursor.execute(
            """
            UPDATE audit_accesslogentry AS e
               SET seal_seq = v.seal_seq, prev_hash = v.prev_hash, entry_hash = v.entry_hash, sealed_at = now()
              FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, seal_seq, prev_hash, entry_hash)
             WHERE e.id = v.id AND e.seal_seq IS NULL
            """,
            [ids, seqs, prevs, hashes],
        )
        if cursor.rowcount != len(ids):  # cannot happen while the lock is honoured; never seal half a batch
            raise RuntimeError(f"sealing updated {cursor.rowcount} of {len(ids)} entries")
        return len(ids)


def seal_pending(batch_size: int = 5000, max_batches: int = 20) -> int:
    """Chain the unsealed entries; returns how many were sealed (0 if another sealer is at work).

    Each batch is its own short transaction, so the lock is never held for long and a
    crash loses at most one uncommitted batch (which the next run seals again).
    """
    total = 0
    for _ in range(max_batches):
        sealed = _seal_one_batch(batch_size)
        if not sealed:
            break
        total += sealed
        if sealed < batch_size:
            break
    return total


# --- the signing key ----------------------------------------------------------------------


def _key_file() -> Path:
    return Path(getattr(settings, "AUDIT_HEAD_KEY_FILE", Path(settings.VAR_DIR) / "keys" / "audit-head.key"))


def heads_file() -> Path:
    return Path(getattr(settings, "AUDIT_HEADS_FILE", Path(settings.VAR_DIR) / "audit-heads.jsonl"))


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise HeadKeyError(f"the chain-head key in {source} is not valid base64") from None
    if len(key) < 32:
        raise HeadKeyError(f"the chain-head key in {source} is shorter than 32 bytes")
    return key


def load_head_key(*, create_in_development: bool = False) -> bytes:
    """The HMAC key for chain heads: ``JUKINET_AUDIT_HEAD_KEY`` (base64) or the key file.

    In development a missing key file is created (mode 0600) when asked; in production a
    missing key is an error, never silently replaced (old heads would stop verifying).
    """
    inline = os.environ.get(HEAD_KEY_ENV)
    if inline:
        return _decode_key(inline, HEAD_KEY_ENV)
    path = _key_file()
    try:
        return _decode_key(path.read_text(encoding="ascii"), str(path))
    except FileNotFoundError:
        pass
    if not create_in_development or settings.PRODUCTION:
        raise HeadKeyError(f"no chain-head key: set {HEAD_KEY_ENV} (base64, 32 bytes) or create {path} (mode 0600)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another process: use theirs
        return _decode_key(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(key).decode("ascii") + "\n")
    logger.info("created a development chain-head key at %s", path)
    return key


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def sign_head(key: bytes, seal_seq: int, entry_hash: str) -> str:
    return hmac.new(key, f"{seal_seq}:{entry_hash}".encode("ascii"), hashlib.sha256).hexdigest()


# --- publishing the head ------------------------------------------------------------------


def publish_chain_head() -> ChainHead:
    """Seal what is pending, then sign and record the head (database row + JSON line outside it)."""
    key = load_head_key(create_in_development=True)
    seal_pending()
    with transaction.atomic():
        seq, entry_hash = _last_sealed()
        head = ChainHead.objects.create(
            seal_seq=seq,
            entry_hash=entry_hash,
            signature=sign_head(key, seq, entry_hash),
            key_id=key_id_of(key),
        )
        # Written inside the transaction: if the copy cannot be written, no head is recorded.
        _append_head_line(head)
    return head


def _append_head_line(head: ChainHead) -> None:
    path = heads_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "published_at": head.published_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "seal_seq": head.seal_seq,
            "entry_hash": head.entry_hash,
            "signature": head.signature,
            "key_id": head.key_id,
        },
        sort_keys=True,
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str  # altered / removed / reordered / head
    message_ja: str
    message_en: str
    entry_ids: tuple[int, ...] = ()
    seal_seqs: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"{self.message_ja} ({self.message_en})"


@dataclass
class VerificationReport:
    checked: int = 0  # sealed entries walked
    last_seal_seq: int = 0
    unsealed: int = 0
    oldest_unsealed_id: int | None = None
    oldest_unsealed_at: datetime | None = None
    heads_checked: int = 0
    altered: list[Problem] = field(default_factory=list)
    removed: list[Problem] = field(default_factory=list)
    reordered: list[Problem] = field(default_factory=list)
    head_problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem_count: int = 0  # exact, even when the lists stop at MAX_LISTED_PROBLEMS

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def problems(self) -> list[Problem]:
        return [*self.altered, *self.removed, *self.reordered, *self.head_problems]

    def _add(self, bucket: list[Problem], problem: Problem) -> None:
        self.problem_count += 1
        if len(bucket) < MAX_LISTED_PROBLEMS:
            bucket.append(problem)


_WALK_FIELDS = ("seal_seq", "prev_hash", "entry_hash", *CONTENT_FIELDS)


def _sealed_entries(chunk_size: int) -> Iterator[dict]:
    """Sealed entries in seal_seq order, by keyset pagination (bounded memory, no long cursor)."""
    sealed = AccessLogEntry.objects.filter(seal_seq__isnull=False).order_by("seal_seq").values(*_WALK_FIELDS)
    chunk = list(sealed[:chunk_size])
    while True:
        yield from chunk
        if len(chunk) < chunk_size:
            return
        chunk = list(sealed.filter(seal_seq__gt=chunk[-1]["seal_seq"])[:chunk_size])


def _entry_with_hash(entry_hash: str) -> tuple[int, int] | None:
    return (
        AccessLogEntry.objects.filter(entry_hash=entry_hash, seal_seq__isnull=False)
        .values_list("id", "seal_seq")
        .first()
    )


def verify_chain(*, chunk_size: int = 10000, extra_heads: Iterable[dict] = ()) -> VerificationReport:
    """Walk the sealed entries in seal_seq order and check every hash and link, then check
    every published head. ``extra_heads`` are heads from outside the database (the JSON-lines
    copy, see ``read_heads_file``) — a head missing from the database is itself reported."""
    report = VerificationReport()
    expected_seq = 1
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    lookups = 0
    for entry in _sealed_entries(chunk_size):
        report.checked += 1
        entry_id, seq = entry["id"], entry["seal_seq"]

        if entry_digest(entry["prev_hash"], entry) != entry["entry_hash"]:
            report._add(
                report.altered,
                Problem(
                    "altered",
                    f"記録ID {entry_id}（連番 {seq}）の内容またはハッシュが封印後に変更されています。",
                    f"entry id {entry_id} (seal_seq {seq}) was altered after sealing: its hash does not match",
                    (entry_id,),
                    (seq,),
                ),
            )

        if seq < expected_seq:  # only a seal_seq below 1 can get here: never written by the sealer
            report._add(
                report.altered,
                Problem(
                    "altered",
                    f"記録ID {entry_id} の連番 {seq} は不正です（封印後に変更されています）。",
                    f"entry id {entry_id} has an invalid seal_seq {seq}: altered after sealing",
                    (entry_id,),
                    (seq,),
                ),
            )
            continue
        if seq != expected_seq:
            after = f"記録ID {previous_id}" if previous_id is not None else "連鎖の先頭"
            after_en = f"entry id {previous_id}" if previous_id is not None else "the start of the chain"
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}〜{seq - 1}"
            report._add(
                report.removed,
                Problem(
                    "removed",
                    f"連番 {missing} の記録（{seq - expected_seq}件）が削除されています"
                    f"（{after} と記録ID {entry_id} の間）。",
                    f"seal_seq {missing.replace('〜', '-')} ({seq - expected_seq} entries) removed, "
                    f"between {after_en} and entry id {entry_id}",
                    tuple(i for i in (previous_id, entry_id) if i is not None),
                    tuple(range(expected_seq, seq)),
                ),
            )
        elif entry["prev_hash"] != expected_prev:
            # The link names the entry this one was sealed after. Find it, for the report.
            target = None
            if lookups < MAX_LINK_LOOKUPS:
                lookups += 1
                target = _entry_with_hash(entry["prev_hash"])
            if target is not None:
                where_ja = f"封印時には記録ID {target[0]}（現在の連番 {target[1]}）の次でした"
                where_en = f"it was sealed after entry id {target[0]} (now at seal_seq {target[1]})"
            else:
                where_ja = "封印時の直前の記録は見つかりません（変更・削除後に連番を詰めた可能性）"
                where_en = (
                    "the entry it was sealed after is not found (altered and rehashed, or removed and renumbered)"
                )
            ids = tuple(i for i in (previous_id, entry_id, target[0] if target else None) if i is not None)
            report._add(
                report.reordered,
                Problem(
                    "reordered",
                    f"記録ID {entry_id}（連番 {seq}）は直前の記録ID {previous_id} に連結されていません。"
                    f"順序の入れ替えまたは差し替えです：{where_ja}。",
                    f"entry id {entry_id} (seal_seq {seq}) does not link to the preceding entry id {previous_id}: "
                    f"reordered or replaced; {where_en}",
                    ids,
                    (seq,),
                ),
            )
        expected_seq = seq + 1
        expected_prev = entry["entry_hash"]
        previous_id = entry_id
    report.last_seal_seq = expected_seq - 1

    _check_heads(report, extra_heads)

    unsealed = AccessLogEntry.objects.filter(seal_seq__isnull=True)
    report.unsealed = unsealed.count()
    if report.unsealed:
        oldest = unsealed.order_by("id").values_list("id", "occurred_at").first()
        if oldest is not None:  # sealed meanwhile
            report.oldest_unsealed_id, report.oldest_unsealed_at = oldest
            if timezone.now() - oldest[1] > UNSEALED_STALE_AFTER:
                report.warnings.append(
                    f"未封印の記録（最古は記録ID {oldest[0]}）が{int(UNSEALED_STALE_AFTER.total_seconds() // 60)}分以上"
                    "封印されていません。封印処理（audit.seal_log）が動いているか確認してください。"
                )
    return report


def read_heads_file(path: Path | None = None) -> list[dict]:
    """The heads copied outside the database (one JSON object per line); [] if there is no file."""
    path = path or heads_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    heads = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            heads.append(
                {
                    "seal_seq": int(item["seal_seq"]),
                    "entry_hash": str(item["entry_hash"]),
                    "signature": str(item["signature"]),
                    "key_id": str(item["key_id"]),
                    "published_at": str(item.get("published_at", "")),
                    "source": f"{path.name}:{number}",
                }
            )
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}:{number} is not a chain-head line") from None
    return heads


def _check_heads(report: VerificationReport, extra_heads: Iterable[dict]) -> None:
    try:
        key = load_head_key()
        key_id = key_id_of(key)
    except HeadKeyError as exc:
        key, key_id = None, None
        report.warnings.append(f"公開済み先頭の署名を検証できません（署名鍵がありません）: {exc}")

    db_heads = [
        {**h, "published_at": h["published_at"].astimezone(UTC).isoformat(), "source": f"ChainHead #{h['id']}"}
        for h in ChainHead.objects.order_by("seal_seq", "id").values(
            "id", "seal_seq", "entry_hash", "signature", "key_id", "published_at"
        )
    ]
    in_db = {(h["seal_seq"], h["entry_hash"], h["signature"]) for h in db_heads}
    heads = list(db_heads)
    for head in extra_heads:
        if (head["seal_seq"], head["entry_hash"], head["signature"]) in in_db:
            continue
        heads.append(head)
        report._add(
            report.head_problems,
            Problem(
                "head",
                f"公開済みの先頭（連番 {head['seal_seq']}、{head['source']}）がデータベースから消えています。",
                f"published head seal_seq {head['seal_seq']} ({head['source']}) is missing from the database",
                seal_seqs=(head["seal_seq"],),
            ),
        )
    heads.sort(key=lambda h: h["seal_seq"])

    last_good_seq = 0
    for head in heads:
        report.heads_checked += 1
        seq, source = head["seal_seq"], head["source"]
        if key is not None:
            if head["key_id"] != key_id:
                report.warnings.append(
                    f"先頭（連番 {seq}、{source}）は別の鍵（{head['key_id']}）で署名されているため"
                    "署名を検証できません。"
                )
            elif not hmac.compare_digest(head["signature"], sign_head(key, seq, head["entry_hash"])):
                report._add(
                    report.head_problems,
                    Problem(
                        "head",
                        f"公開済み先頭（連番 {seq}、{source}）の署名が正しくありません（偽造された先頭）。",
                        f"published head seal_seq {seq} ({source}) has an invalid signature: forged",
                        seal_seqs=(seq,),
                    ),
                )
                continue
        if seq == 0:
            actual = (None, GENESIS_HASH)
        else:
            actual = AccessLogEntry.objects.filter(seal_seq=seq).values_list("id", "entry_hash").first()
        if actual is None:
            report._add(
                report.head_problems,
                Problem(
                    "head",
                    f"公開済み先頭（連番 {seq}、{source}）の記録がありません。連鎖の末尾が削除されています。",
                    f"the entry at published head seal_seq {seq} ({source}) does not exist: the chain was cut",
                    seal_seqs=(seq,),
                ),
            )
        elif actual[1] != head["entry_hash"]:
            report._add(
                report.head_problems,
                Problem(
                    "head",
                    f"公開済み先頭（連番 {seq}、{source}）と記録ID {actual[0]} のハッシュが一致しません。"
                    f"連番 {last_good_seq + 1}〜{seq} の間で連鎖が書き換えられています（ハッシュを再計算した改ざん）。",
                    f"published head seal_seq {seq} ({source}) does not match entry id {actual[0]}: the chain was "
                    f"rewritten (and rehashed) between seal_seq {last_good_seq + 1} and {seq}",
                    (actual[0],),
                    (seq,),
                ),
            )
        else:
            last_good_seq = seq
