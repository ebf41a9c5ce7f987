"""Encrypted backups and the backup register (記録簿): write, verify, restore, copy (docs/backups.md).

A backup is ``pg_dump --format=custom`` streamed through the public-key envelope
(jukinet.envelope) straight into a file: the writer reads only the PUBLIC key, so neither the
machine that makes the backup nor the contractor that stores it can read it. Every sealed file
gets one append-only register entry (when, what, size, SHA-256 of the encrypted file, where,
which key); restores and copies are access-log entries naming it (``backup:<pk>``).

Nothing here logs personal data: a backup's scope is "the whole database", a contractor file's
is a file and a municipality code.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg
from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from psycopg import sql

from audit import access_log, context
from audit.models import AccessLogEntry, BackupRecord, Operator, StoredFileKind
from audit.permissions import ensure_permitted
from jukinet import envelope
from jukinet.errors import Conflict, DomainError, InvalidInput, NotFound
from jukinet.log_redaction import redact
from jukinet.text_input import REASON_MAX, clean_line

READ_SIZE = 1 << 20
CHUNK_SIZE = envelope.DEFAULT_CHUNK_SIZE  # of the sealed files (tests make it small)
SUFFIX = ".jkenc"
NOTE_MAX = 300
# Database names we create or restore into: plain identifiers, short enough for the staging suffix.
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


class BackupFailed(DomainError):
    code = "E_BACKUP_FAILED"
    status = 500
    message = "バックアップの処理に失敗しました。"


# --- Who acts ------------------------------------------------------------------------------


def resolve_operator(login_id: str, *, action: str) -> Operator | None:
    """The operator named on a command line: an active system administrator, or refused (logged).

    Making, restoring and copying sealed files is the system administrator's work (the same
    people who may copy them off the server, ``backup.copy``); without ``--operator`` the
    scheduled job acts as ``system``. Call it inside ``acting_as``.
    """
    if not login_id:
        return None
    operator = Operator.objects.filter(login_id=login_id).first()
    try:
        if operator is None:
            raise NotFound("指定した操作者IDは登録されていません。", code="E_OPERATOR_UNKNOWN")
        ensure_permitted(operator, "backup.copy")
    except DomainError as exc:
        access_log.log_refusal(action=action, detail=f"{exc.code} {exc.message}")
        raise
    return operator


@contextlib.contextmanager
def acting_as(login_id: str, command: str):
    """Log as the operator named with ``--operator``, or as the system running ``manage.py <command>``."""
    if login_id:
        changes = {"actor_kind": "operator", "actor": login_id[:40]}
    else:
        changes = {"actor_kind": "system", "actor": f"manage.py {command}"[:40]}
    with context.acting(request_id=context.new_request_id(), terminal="", remote_addr="", **changes):
        yield


def _clean_text(value: str, *, limit: int, label: str, field: str) -> str:
    return clean_line(value, label=label, field=field, limit=limit, code="E_BACKUP_TEXT", required=False)


# --- PostgreSQL: connection parameters and client programs ---------------------------------

_LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "target_session_attrs")


def libpq_params(alias: str = "default", *, dbname: str | None = None) -> dict[str, str]:
    """psycopg keyword arguments for the configured database (or another on the same server)."""
    conf = connections[alias].settings_dict
    params = {
        "host": conf.get("HOST") or "",
        "port": str(conf.get("PORT") or ""),
        "user": conf.get("USER") or "",
        "password": conf.get("PASSWORD") or "",
        "dbname": dbname or conf["NAME"],
    }
    options = conf.get("OPTIONS") or {}
    params.update({key: str(options[key]) for key in _LIBPQ_OPTIONS if key in options})
    return {key: value for key, value in params.items() if value}


def pg_environment(params: dict[str, str]) -> dict[str, str]:
    """The child's environment: connection settings (the password included) never go on argv."""
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT",
        "sslcert": "PGSSLCERT",
        "sslkey": "PGSSLKEY",
        "connect_timeout": "PGCONNECT_TIMEOUT",
        "target_session_attrs": "PGTARGETSESSIONATTRS",
    }
    env = {**os.environ}
    env.update({names[key]: value for key, value in params.items() if key in names})
    return env


def server_major(alias: str = "default") -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _tool_major(path: Path) -> int | None:
    try:
        # A fixed argv to a PostgreSQL client program found in the known places (no shell, no user input).
        out = subprocess.run(  # noqa: S603
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _tool_candidates(name: str) -> list[Path]:
    """Where the dev services find PostgreSQL (scripts/devservices.py), in the same order."""
    candidates: list[Path] = []
    bindir = os.environ.get("JUKINET_PG_BINDIR")
    if bindir:
        candidates.append(Path(bindir) / name)
    candidates += [Path(p) for p in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    with contextlib.suppress(ImportError):
        import pgserver  # the embedded runtime's wheel, when the machine has no PostgreSQL of its own

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    return [c for c in dict.fromkeys(candidates) if c.is_file() and os.access(c, os.X_OK)]


def find_pg_tool(name: str, major: int) -> Path:
    """The client program of the server's major version, else the nearest newer one.

    pg_dump refuses servers newer than itself, and an archive from a newer pg_dump may not load
    with an older pg_restore: the same major version is the safe choice.
    """
    versions = [(v, path) for path in _tool_candidates(name) if (v := _tool_major(path)) is not None]
    exact = [path for v, path in versions if v == major]
    if exact:
        return exact[0]
    newer = sorted((v, str(path)) for v, path in versions if v > major)
    if newer:
        return Path(newer[0][1])
    seen = ", ".join(f"{path}（{v}）" for v, path in versions) or "なし"
    raise BackupFailed(
        f"PostgreSQL {major} に使える {name} が見つかりません（見つかったもの: {seen}）。"
        f"PostgreSQL {major} のクライアントを入れるか、JUKINET_PG_BINDIR にその bin ディレクトリを指定してください。",
        code="E_BACKUP_NO_PG_TOOLS",
    )


def _stderr_summary(stream) -> str:
    """The end of a client program's messages, redacted: they can quote a failing row."""
    stream.seek(0)
    text = stream.read().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if "error" in line.lower() or "エラー" in line] or text.splitlines()
    return redact(" / ".join(lines[-3:]))[:400]


# --- Sealed files: write and register ---------------------------------------------------------


def public_key():
    path = settings.BACKUP_PUBLIC_KEY_FILE
    try:
        return envelope.load_public_key(path)
    except envelope.EnvelopeError as exc:
        raise BackupFailed(
            f"{exc.message} 開発環境では manage.py make_backup_keys で作成します（docs/backups.md）。",
            code="E_BACKUP_PUBLIC_KEY",
        ) from None


def new_file_name(prefix: str, middle: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(4)}{middle}{SUFFIX}"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal_to_file(pieces: Iterable[bytes], *, directory: Path, file_name: str) -> envelope.Written:
    """Seal ``pieces`` into ``directory/file_name`` (mode 0600): a temporary name, fsync, rename.

    An exception from ``pieces`` (a failed dump, a failed query) leaves no file behind.
    """
    key = public_key()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = directory / file_name
    partial = directory / f".{file_name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            written = envelope.write_sealed(pieces, key, out, chunk_size=CHUNK_SIZE)
            out.flush()
            os.fsync(out.fileno())
        if final.exists():
            raise BackupFailed("同じ名前のファイルが既にあります。", code="E_BACKUP_EXISTS")
        os.replace(partial, final)
        _fsync_directory(directory)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def register_sealed_file(
    *,
    kind: str,
    path: Path,
    written: envelope.Written,
    scope: str,
    created_by: str,
    created_at=None,
    recipient: str = "",
    note: str = "",
    action: str,
    target_file: str = "",
    detail: str,
) -> BackupRecord:
    """One register entry and its access-log entry, in one transaction; if they fail, the file goes."""
    try:
        with transaction.atomic():
            record = BackupRecord.objects.create(
                kind=kind,
                file_name=path.name,
                location=str(path.parent.resolve()),
                scope=scope[:200],
                recipient=recipient[:100],
                size_bytes=written.size_bytes,
                sha256=written.sha256,
                key_fingerprint=written.key_fingerprint,
                created_by=created_by[:40],
                created_at=created_at or timezone.now(),
                note=note[:NOTE_MAX],
            )
            access_log.log_event(
                action=action, target_file=target_file, target_code=f"backup:{record.pk}", detail=detail
            )
    except BaseException:
        # A sealed file that is not in the register must not exist.
        path.unlink(missing_ok=True)
        raise
    return record


# --- Backup --------------------------------------------------------------------------------


def _dump_pieces(command: list[str], env: dict[str, str]) -> Iterator[bytes]:
    """pg_dump's output as it comes; raises (before the last chunk is sealed) if pg_dump fails."""
    with tempfile.TemporaryFile() as errors:
        # Fixed flags; connection settings travel in ``env`` (no shell, nothing from a user on argv).
        proc = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env
        )
        try:
            while piece := proc.stdout.read(READ_SIZE):
                yield piece
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
        if code != 0:
            raise BackupFailed(
                f"pg_dump が失敗しました（終了コード {code}）: {_stderr_summary(errors)}", code="E_BACKUP_DUMP"
            )


def backup_create(*, operator: Operator | None = None, out_dir: Path | None = None, note: str = "") -> BackupRecord:
    """Dump the configured database through the envelope into BACKUP_DIR (or ``out_dir``)."""
    note = _clean_text(note, limit=NOTE_MAX, label="備考", field="note")
    if operator is not None:
        ensure_permitted(operator, "backup.copy")
    params = libpq_params()
    pg_dump = find_pg_tool("pg_dump", server_major())
    directory = Path(out_dir or settings.BACKUP_DIR)
    file_name = new_file_name("jukinet-backup", ".dump")
    started = timezone.now()
    # -w: never prompt; the password, if any, is in PGPASSWORD of the child's environment only.
    command = [str(pg_dump), "--format=custom", "--no-password"]
    try:
        written = seal_to_file(_dump_pieces(command, pg_environment(params)), directory=directory, file_name=file_name)
    except DomainError as exc:
        access_log.log_event(
            action="backup.create", outcome=AccessLogEntry.Outcome.FAILED, detail=f"{exc.code} {exc.message}"
        )
        raise
    path = directory / file_name
    return register_sealed_file(
        kind=StoredFileKind.BACKUP,
        path=path,
        written=written,
        scope=f"データベース全体（{params['dbname']}）",
        created_by=operator.login_id if operator else "system",
        created_at=started,
        note=note,
        action="backup.create",
        detail=f"{file_name} {written.size_bytes}バイト",
    )


# --- Verify against the register ---------------------------------------------------------------


def file_sha256(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        for piece in envelope.iter_file(source, READ_SIZE):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def backup_verify(*, path: Path, expected_sha256: str = "") -> BackupRecord | None:
    """Check a file against its register entry (or a SHA-256 from a copy of the register).

    Returns the entry (None when only ``expected_sha256`` vouched for the file); raises Conflict
    when size or checksum differ, NotFound when nothing vouches for it.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFound("ファイルがありません。", code="E_BACKUP_FILE_MISSING")
    expected_sha256 = (expected_sha256 or "").strip().lower()
    if expected_sha256 and not re.fullmatch(r"[0-9a-f]{64}", expected_sha256):
        raise InvalidInput("SHA-256 は64桁の16進数で指定してください。", code="E_BACKUP_SHA256", field="sha256")
    size, digest = file_sha256(path)
    records = list(BackupRecord.objects.filter(file_name=path.name))
    if not records and not expected_sha256:
        raise NotFound(
            "このファイルは記録簿に登録されていません。記録簿の写しにある SHA-256 を --sha256 で指定してください。",
            code="E_BACKUP_NOT_REGISTERED",
        )
    if expected_sha256 and digest != expected_sha256:
        raise Conflict("ファイルの SHA-256 が指定の値と一致しません。", code="E_BACKUP_CHECKSUM")
    for record in records:
        if record.sha256 == digest and record.size_bytes == size:
            return record
    if records:
        raise Conflict(
            "ファイルが記録簿と一致しません（サイズまたは SHA-256 が違います）。改ざんまたは破損の疑いがあります。",
            code="E_BACKUP_CHECKSUM",
        )
    return None


# --- Restore -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    database: str
    record: BackupRecord | None
    replaced: bool  # an existing (empty, or --force) database was replaced


def _maintenance_connection() -> psycopg.Connection:
    last: Exception | None = None
    for dbname in ("postgres", "template1"):
        try:
            return psycopg.connect(**libpq_params(dbname=dbname), autocommit=True)
        except psycopg.OperationalError as exc:
            last = exc
    raise BackupFailed(f"データベースサーバに接続できません: {redact(str(last))[:200]}", code="E_BACKUP_CONNECT")


def database_exists(maintenance: psycopg.Connection, name: str) -> bool:
    return maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_is_empty(name: str) -> bool:
    """No table, view, sequence or function outside the system schemas."""
    with psycopg.connect(**libpq_params(dbname=name)) as conn:
        found = conn.execute(
            """
            SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
                OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
            """
        ).fetchone()[0]
    return not found


def drop_database(maintenance: psycopg.Connection, name: str) -> None:
    # WITH (FORCE): a killed pg_restore's backend may still be on its way out (PostgreSQL 13+).
    maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _restore_into(path: Path, private_key, database: str) -> None:
    """Decrypt ``path`` into pg_restore for ``database``; raise (after killing it) on any failure."""
    pg_restore = find_pg_tool("pg_restore", server_major())
    # One transaction, stop at the first error; objects belong to the restoring role, and grants
    # to roles that may not exist on this server are left out (docs/backups.md).
    command = [
        str(pg_restore),
        "--no-password",
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        "--dbname",
        database,
    ]
    with tempfile.TemporaryFile() as errors, path.open("rb") as source:
        # Fixed flags and a validated database name; the rest travels in the environment.
        proc = subprocess.Popen(  # noqa: S603
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=pg_environment(libpq_params(dbname=database)),
        )
        try:
            try:
                for plain in envelope.open_stream(source, private_key):
                    proc.stdin.write(plain)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # pg_restore stopped early: its exit code and messages say why
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0:
            raise BackupFailed(
                f"pg_restore が失敗しました（終了コード {code}）: {_stderr_summary(errors)}", code="E_BACKUP_RESTORE"
            )


def backup_restore(
    *,
    path: Path,
    private_key_file: Path,
    passphrase: bytes | None = None,
    database: str = "",
    force: bool = False,
    expected_sha256: str = "",
    operator: Operator | None = None,
) -> Restored:
    """Verify, then restore into a fresh staging database; only a complete restore takes the name.

    The target keeps its name only when the whole archive decrypted and loaded: a wrong key, a
    tampered or truncated file, or a pg_restore error drops the staging database and leaves the
    target as it was. An existing target is replaced only when empty, or with ``force``.
    """
    path = Path(path)
    target = database or connections["default"].settings_dict["NAME"]
    label = f"{path.name} → {target}"
    try:
        if operator is not None:
            ensure_permitted(operator, "backup.copy")
        if not _DB_NAME.fullmatch(target):
            raise InvalidInput(
                "復元先のデータベース名は英字で始まる40文字以内の英数字と _ にしてください。",
                code="E_BACKUP_DATABASE",
                field="database",
            )
        record = backup_verify(path=path, expected_sha256=expected_sha256)
        try:
            key = envelope.load_private_key(private_key_file, passphrase)
            with path.open("rb") as source:
                header = envelope.read_header(source)
        except envelope.EnvelopeError as exc:
            raise InvalidInput(exc.message, code=exc.code) from None
        if header.fingerprint != envelope.fingerprint(key.public_key()):
            raise InvalidInput(
                "この秘密鍵では開けません。ファイルは別の鍵で暗号化されています"
                f"（ファイルの鍵 {header.fingerprint_text}）。",
                code=envelope.KeyMismatch.code,
            )
        maintenance = _maintenance_connection()
    except DomainError as exc:
        access_log.log_refusal(action="backup.restore", detail=f"{label} {exc.code} {exc.message}")
        raise
    target_code = f"backup:{record.pk}" if record else ""
    with maintenance:
        exists = database_exists(maintenance, target)
        if exists and not force and not database_is_empty(target):
            exc = Conflict(
                f"復元先のデータベース {target} は空ではありません。新しいデータベース名を指定するか、"
                "置き換えるときは --force を指定してください。",
                code="E_BACKUP_TARGET_NOT_EMPTY",
            )
            access_log.log_refusal(action="backup.restore", target_code=target_code, detail=f"{label} {exc.code}")
            raise exc
        staging = f"{target}_restore_{secrets.token_hex(4)}"
        maintenance.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(staging))
        )
        try:
            _restore_into(path, key, staging)
        except BaseException as exc:
            drop_database(maintenance, staging)
            message = exc.message if isinstance(exc, envelope.EnvelopeError | DomainError) else type(exc).__name__
            code = getattr(exc, "code", "E_BACKUP_RESTORE")
            with contextlib.suppress(Exception):
                access_log.log_event(
                    action="backup.restore",
                    outcome=AccessLogEntry.Outcome.FAILED,
                    target_code=target_code,
                    detail=f"{label} {code} {message}",
                )
            if isinstance(exc, envelope.EnvelopeError):
                raise InvalidInput(f"{exc.message} 復元先は作成していません。", code=exc.code) from None
            raise
        if exists:
            if target == connections["default"].settings_dict["NAME"]:
                connections.close_all()
            drop_database(maintenance, target)
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        maintenance.execute(rename.format(sql.Identifier(staging), sql.Identifier(target)))
    access_log.log_event(
        action="backup.restore", target_code=target_code, detail=f"{label}{'（置き換え）' if exists else ''}"
    )
    return Restored(target, record, exists)


# --- The register pages: reads, and the logged copy --------------------------------------------


def backup_register(*, kind: str = "") -> QuerySet[BackupRecord]:
    records = BackupRecord.objects.all()
    if kind:
        records = records.filter(kind=kind)
    return records.order_by("-created_at", "-pk")


def backup_get(*, pk: int) -> BackupRecord | None:
    return BackupRecord.objects.filter(pk=pk).first()


@dataclass(frozen=True)
class FileState:
    exists: bool
    size_matches: bool

    @property
    def label(self) -> str:
        if not self.exists:
            return "ファイルなし"
        return "あり" if self.size_matches else "サイズ不一致"

    @property
    def ok(self) -> bool:
        return self.exists and self.size_matches


def stored_path(record: BackupRecord) -> Path:
    return Path(record.location) / record.file_name


def file_state(record: BackupRecord) -> FileState:
    """Whether the file is where the register says, at the registered size (no read of the content)."""
    try:
        size = stored_path(record).stat().st_size
    except OSError:
        return FileState(False, False)
    return FileState(True, size == record.size_bytes)


def backup_copies(record: BackupRecord) -> QuerySet[AccessLogEntry]:
    return AccessLogEntry.objects.filter(action="backup.copy", target_code=f"backup:{record.pk}").order_by(
        "-occurred_at"
    )


def backup_copy(*, operator: Operator, record: BackupRecord, reason: str) -> BinaryIO:
    """Open the ENCRYPTED file to hand over as it is, with a reason; every copy is an access-log entry.

    The size is checked against the register (cheap); the recipient checks the SHA-256 shown in
    the register (docs/backups.md). The caller streams and closes the returned file.
    """
    ensure_permitted(operator, "backup.copy")
    reason = _clean_text(reason, limit=REASON_MAX, label="理由", field="reason")
    if not reason:
        raise InvalidInput("複製の理由を入力してください。", code="E_BACKUP_REASON", field="reason")
    try:
        handle = stored_path(record).open("rb")
    except OSError:
        raise NotFound("記録簿にあるファイルが保管場所にありません。", code="E_BACKUP_FILE_MISSING") from None
    if os.fstat(handle.fileno()).st_size != record.size_bytes:
        handle.close()
        raise Conflict(
            "保管場所のファイルの大きさが記録簿と一致しません。複製できません。", code="E_BACKUP_FILE_CHANGED"
        )
    try:
        access_log.log_event(
            action="backup.copy",
            target_code=f"backup:{record.pk}",
            detail=f"{record.get_kind_display()} {record.file_name} 理由: {reason}",
        )
    except BaseException:
        handle.close()
        raise
    return handle
