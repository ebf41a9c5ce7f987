from django.core.management.base import BaseCommand, CommandError

from audit.services import terminal_register_direct
from jukinet.errors import DomainError


class Command(BaseCommand):
    help = "サーバ側で端末を登録し、一度だけ使える端末登録コード（有効期限30分）を表示する。最初の端末の登録用。"

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="端末名")
        parser.add_argument("--place", required=True, help="設置場所")

    def handle(self, *args, name, place, **options):
        try:
            issued = terminal_register_direct(name=name, place=place)
        except DomainError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from None
        self.stdout.write(f"端末 {issued.terminal.terminal_id} を登録しました。")
        self.stdout.write(f"  端末登録コード : {issued.enrolment_code}")
        self.stdout.write(f"  有効期限       : {issued.expires_at:%Y-%m-%d %H:%M}")
        self.stdout.write("  新しい端末のブラウザで /terminal/enroll を開き、このコードを入力してください。")
