from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backups import acting_as, backup_create, resolve_operator
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = (
        "データベース全体を pg_dump で取り出し、公開鍵で暗号化してバックアップ先に書き、記録簿に登録する"
        "（秘密鍵は使わない。docs/backups.md）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--operator", default="", help="作成するシステム管理者のログインID（省略時は system）")
        parser.add_argument("--out", default="", help="書き出すディレクトリ（省略時は JUKINET_BACKUP_DIR）")
        parser.add_argument("--note", default="", help="記録簿の備考（300文字以内）")

    def handle(self, *args, operator, out, note, **options):
        with acting_as(operator, "backup"):
            try:
                who = resolve_operator(operator, action="backup.create")
                record = backup_create(operator=who, out_dir=Path(out) if out else None, note=note)
            except DomainError as exc:
                raise CommandError(f"{exc.message}（{exc.code}）") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"バックアップを作成しました：記録簿 #{record.pk} {record.location}/{record.file_name} "
                f"{record.size_bytes:,}バイト SHA-256 {record.sha256}"
            )
        )
