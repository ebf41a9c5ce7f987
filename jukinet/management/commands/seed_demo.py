import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from audit.models import Role
from audit.services import operator_create_demo, terminal_register_direct
from honnin.models import Resident

DEMO_OPERATORS = [
    ("demo-sysadmin", [Role.SYSADMIN], "デモ システム管理者"),
    ("demo-secadmin", [Role.SECADMIN], "デモ セキュリティ管理者"),
    ("demo-gyomu", [Role.GYOMU], "デモ 業務担当者"),
    ("demo-kaiji", [Role.KAIJI], "デモ 開示窓口担当"),
    ("demo-teikyo", [Role.TEIKYO], "デモ 提供担当"),
    ("demo-auditor", [Role.AUDITOR], "デモ 監査担当"),
]


class Command(BaseCommand):
    help = "開発用のデモ環境（合成県民データ、デモ操作者、デモ端末）を用意する。2回目以降は既存データを再利用する。"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=50000)
        parser.add_argument(
            "--print-login", action="store_true", help="デモのログイン情報と新しい端末登録コードを表示する"
        )
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, residents: int, print_login: bool, base_url: str, **options):
        if settings.PRODUCTION:
            raise CommandError("本番モードではデモ環境を作成できません。")
        path = Path(settings.VAR_DIR) / "demo-login.json"
        if print_login:
            self._print_login(path, base_url)
            return
        creds = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        creds.setdefault("password", f"Demo-{secrets.token_urlsafe(9)}")
        creds.setdefault("totp_key", secrets.token_hex(20))
        for login_id, roles, full_name in DEMO_OPERATORS:
            operator_create_demo(
                login_id=login_id,
                roles=roles,
                password=creds["password"],
                full_name=full_name,
                totp_key=creds["totp_key"],
            )
        path.write_text(json.dumps(creds), encoding="utf-8")
        path.chmod(0o600)
        if Resident.objects.exists():
            self.stdout.write("既存の県民データを再利用します。")
        else:
            self.stdout.write(f"合成県民データ {residents:,} 人を生成します。")
            call_command("generate_prefecture", residents=residents, seed=1)

    def _print_login(self, path: Path, base_url: str) -> None:
        if not path.exists():
            return
        creds = json.loads(path.read_text(encoding="utf-8"))
        issued = terminal_register_direct(name="デモ端末", place="開発機")
        code_now = f"{TOTP(bytes.fromhex(creds['totp_key'])).token():06d}"
        self.stdout.write(f"  1. enrol browser : {base_url}/terminal/enroll  code {issued.enrolment_code} (30 min)")
        self.stdout.write(f"  2. demo login    : demo-gyomu / {creds['password']}  (検索・記録の表示・機構への照会)")
        self.stdout.write(f"     TOTP secret   : {_base32(creds['totp_key'])}  (now: {code_now};")
        self.stdout.write("                     later: python manage.py demo_totp)")
        others = ", ".join(o[0] for o in DEMO_OPERATORS if o[0] != "demo-gyomu")
        self.stdout.write(f"     other roles   : {others} (same password and TOTP)")


def _base32(hex_key: str) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(hex_key)).decode()
