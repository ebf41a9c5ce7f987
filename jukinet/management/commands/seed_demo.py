import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from audit.models import Role
from audit.services import operator_create_demo
from honnin.models import Resident

DEMO_OPERATORS = [
    ("demo-sysadmin", Role.SYSADMIN, "デモ システム管理者"),
    ("demo-secadmin", Role.SECADMIN, "デモ セキュリティ管理者"),
    ("demo-gyomu", Role.GYOMU, "デモ 業務担当者"),
    ("demo-kaiji", Role.KAIJI, "デモ 開示窓口担当"),
    ("demo-teikyo", Role.TEIKYO, "デモ 提供担当"),
    ("demo-auditor", Role.AUDITOR, "デモ 監査担当"),
]


class Command(BaseCommand):
    help = "開発用のデモ環境（合成県民データとデモ操作者）を用意する。2回目以降は既存データを再利用する。"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=50000)
        parser.add_argument("--print-login", action="store_true", help="デモのログイン情報を表示するだけ")

    def handle(self, *args, residents: int, print_login: bool, **options):
        if settings.PRODUCTION:
            raise CommandError("本番モードではデモデータを作成できません。")
        credentials_path = Path(settings.VAR_DIR) / "demo-login.json"
        if print_login:
            if credentials_path.exists():
                creds = json.loads(credentials_path.read_text(encoding="utf-8"))
                self.stdout.write(f"  demo login       : {creds['login_id']} / {creds['password']}")
                self.stdout.write(f"  (other roles: {', '.join(o[0] for o in DEMO_OPERATORS[1:])}, same password)")
            return
        if credentials_path.exists():
            password = json.loads(credentials_path.read_text(encoding="utf-8"))["password"]
        else:
            password = secrets.token_urlsafe(12)
        for login_id, role, full_name in DEMO_OPERATORS:
            operator_create_demo(login_id=login_id, role=role, password=password, full_name=full_name)
        credentials_path.write_text(
            json.dumps({"login_id": DEMO_OPERATORS[0][0], "password": password}), encoding="utf-8"
        )
        credentials_path.chmod(0o600)
        if Resident.objects.exists():
            self.stdout.write("既存の県民データを再利用します。")
        else:
            self.stdout.write(f"合成県民データ {residents:,} 人を生成します。")
            call_command("generate_prefecture", residents=residents, seed=1)
