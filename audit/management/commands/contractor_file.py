from django.core.management.base import BaseCommand, CommandError

from audit.backups import acting_as, resolve_operator
from audit.contractor_files import contractor_file_create
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = (
        "委託先に渡すファイル（ある市町村の現存者、整合性確認の CSV 形式）を公開鍵で暗号化して書き、"
        "記録簿に登録する（docs/backups.md）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--municipality", required=True, help="市町村コード（検査数字を含む6桁）")
        parser.add_argument("--file", required=True, choices=["honnin", "fuhyo"])
        parser.add_argument("--recipient", required=True, help="提供先（委託先）の名称")
        parser.add_argument("--operator", default="", help="作成するシステム管理者のログインID")
        parser.add_argument("--note", default="", help="記録簿の備考（300文字以内）")

    def handle(self, *args, municipality, file, recipient, operator, note, **options):
        with acting_as(operator, "contractor_file"):
            try:
                who = resolve_operator(operator, action="contractor_file.create")
                record = contractor_file_create(
                    file=file, municipality_code=municipality, recipient=recipient, operator=who, note=note
                )
            except DomainError as exc:
                raise CommandError(f"{exc.message}（{exc.code}）") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"委託先提供ファイルを作成しました：記録簿 #{record.pk} {record.location}/{record.file_name} "
                f"{record.size_bytes:,}バイト SHA-256 {record.sha256}"
            )
        )
