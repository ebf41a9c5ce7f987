from django.core.management.base import BaseCommand, CommandError

from audit.services import client_issue_direct
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = (
        "機械クライアント（市町村CS・執行機関）を登録し、Bearerトークンを一度だけ表示する（保存するのはハッシュのみ）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=["cs", "body"])
        parser.add_argument("--municipality", default="", help="市町村CSの全国地方公共団体コード（6桁）")
        parser.add_argument("--name", default="", help="名称（例: 教育委員会）")
        parser.add_argument("--duties", default="", help="許可する事務コード（カンマ区切り、例: 6-1,6-5）")

    def handle(self, *args, kind, municipality, name, duties, **options):
        if kind == "cs" and not name:
            name = f"市町村CS {municipality}"
        duty_codes = [d.strip() for d in duties.split(",") if d.strip()]
        try:
            issued = client_issue_direct(kind=kind, name=name, municipality_code=municipality, duty_codes=duty_codes)
        except DomainError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from None
        self.stderr.write(f"クライアント {issued.client.client_id} を登録しました。トークンは一度だけ表示します。")
        self.stdout.write(issued.token)
