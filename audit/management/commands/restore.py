from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backups import acting_as, backup_restore, resolve_operator
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = (
        "暗号化バックアップを記録簿と照合してから復号し、新しいデータベースに pg_restore で復元する。"
        "失敗したときは作りかけのデータベースを残さない（docs/backups.md）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="バックアップファイル（.jkenc）")
        parser.add_argument("--private-key", required=True, help="秘密鍵（PEM）のファイル")
        parser.add_argument("--passphrase-file", default="", help="秘密鍵のパスフレーズを書いたファイル")
        parser.add_argument("--database", default="", help="復元先のデータベース名（省略時は設定中のデータベース）")
        parser.add_argument("--force", action="store_true", help="空でない復元先を置き換える")
        parser.add_argument("--sha256", default="", help="記録簿が手元にないとき: 記録簿の写しにある SHA-256")
        parser.add_argument("--operator", default="", help="復元するシステム管理者のログインID")

    def handle(self, *args, file, private_key, passphrase_file, database, force, sha256, operator, **options):
        passphrase = None
        if passphrase_file:
            try:
                passphrase = Path(passphrase_file).read_bytes().rstrip(b"\r\n")
            except OSError:
                raise CommandError(f"パスフレーズのファイル {passphrase_file} を読めません。") from None
        with acting_as(operator, "restore"):
            try:
                who = resolve_operator(operator, action="backup.restore")
                restored = backup_restore(
                    path=Path(file),
                    private_key_file=Path(private_key),
                    passphrase=passphrase,
                    database=database,
                    force=force,
                    expected_sha256=sha256,
                    operator=who,
                )
            except DomainError as exc:
                raise CommandError(f"{exc.message}（{exc.code}）") from None
        entry = f"記録簿 #{restored.record.pk}" if restored.record else "記録簿の写しの SHA-256"
        self.stdout.write(
            self.style.SUCCESS(
                f"データベース {restored.database} に復元しました（{entry} と照合済み"
                f"{'、既存のデータベースを置き換え' if restored.replaced else ''}）。"
            )
        )
