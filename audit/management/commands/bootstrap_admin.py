from django.core.management.base import BaseCommand, CommandError

from audit.services import operator_bootstrap_admin
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = (
        "最初のシステム管理者を作成する（システム管理者が1人もいない場合のみ）。"
        "初期パスワードとTOTP秘密鍵を一度だけ表示する。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--login-id", required=True)
        parser.add_argument("--staff-number", required=True)
        parser.add_argument("--name", required=True, help="氏名")
        parser.add_argument("--department", required=True, help="所属")

    def handle(self, *args, login_id, staff_number, name, department, **options):
        try:
            issued = operator_bootstrap_admin(
                login_id=login_id, staff_number=staff_number, full_name=name, department=department
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from None
        self.stdout.write(
            "最初のシステム管理者を作成しました。以下は一度だけ表示します。封筒に入れて本人に渡してください。"
        )
        self.stdout.write(f"  ログインID       : {issued.operator.login_id}")
        self.stdout.write(f"  初期パスワード   : {issued.one_time_password}")
        self.stdout.write(f"  TOTP秘密鍵       : {issued.totp_secret}")
        self.stdout.write(f"  TOTP登録URI      : {issued.totp_uri}")
        self.stdout.write("初回ログイン時にパスワードの変更を求められます。")
