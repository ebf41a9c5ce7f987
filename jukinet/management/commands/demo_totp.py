import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP


class Command(BaseCommand):
    help = "開発用: デモ操作者の現在のTOTP確認コードを表示する（本番モードでは使えない）。"

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("本番モードでは使えません。")
        path = Path(settings.VAR_DIR) / "demo-login.json"
        if not path.exists():
            raise CommandError("デモ環境がありません。make up を実行してください。")
        key = json.loads(path.read_text(encoding="utf-8"))["totp_key"]
        self.stdout.write(f"{TOTP(bytes.fromhex(key)).token():06d}")
