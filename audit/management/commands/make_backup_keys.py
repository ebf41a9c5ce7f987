"""A development key pair for backups and contractor files (docs/backups.md).

In production the セキュリティ管理者 generates the pair offline and installs only the public key
(JUKINET_BACKUP_PUBLIC_KEY_FILE); this command is for `make up` / `make test`.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jukinet import envelope

PRIVATE_NAME = "backup-private.pem"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class Command(BaseCommand):
    help = (
        "バックアップ・委託先提供ファイル用の開発用鍵ペアを作成する（公開鍵があれば何もしない）。"
        "本番では秘密鍵をセキュリティ管理者がオフラインで作成・保管する。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--bits", type=int, default=envelope.MIN_RSA_BITS, help="RSA 鍵の長さ（3072以上）")

    def handle(self, *args, bits, **options):
        public = Path(settings.BACKUP_PUBLIC_KEY_FILE)
        private = public.parent / PRIVATE_NAME
        if public.exists():
            self.stdout.write(f"公開鍵 {public} があります。何もしません。")
            return
        public.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if private.exists():
                # Only the public half is missing: derive it rather than make a second pair.
                key = envelope.load_private_key(private)
            else:
                key = envelope.generate_private_key(bits)
                _write(private, envelope.private_key_pem(key), 0o600)
        except envelope.EnvelopeError as exc:
            raise CommandError(exc.message) from None
        _write(public, envelope.public_key_pem(key.public_key()), 0o644)
        self.stdout.write(
            self.style.SUCCESS(
                f"開発用の鍵ペアを作成しました：公開鍵 {public}、秘密鍵 {private}（0600）。"
                f"フィンガープリント {envelope.fingerprint_text(key.public_key())}"
            )
        )
