import csv

from django.core.management.base import BaseCommand

from provision.selectors import duties_list

HEADER = ["code", "name", "legal_basis", "my_number_allowed"]


class Command(BaseCommand):
    help = "事務の登録簿（事務コード・名称・法令上の根拠・個人番号の提供可否）を表示する（API.md §3）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", choices=["table", "csv"], default="table", help="table（既定、読みやすい形）または csv"
        )
        parser.add_argument("--include-inactive", action="store_true", help="停止中の事務も表示する")

    def handle(self, *args, format, include_inactive, **options):
        duties = list(duties_list(include_inactive=include_inactive))
        if format == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(HEADER)
            for duty in duties:
                writer.writerow([duty.code, duty.name, duty.legal_basis, "true" if duty.my_number_allowed else "false"])
            return
        for duty in duties:
            state = "" if duty.active else "（停止中）"
            self.stdout.write(f"{duty.code}  {duty.name}{state}")
            self.stdout.write(f"    根拠: {duty.legal_basis}")
            files = "・".join({"honnin": "本人確認情報", "fuhyo": "附票本人確認情報"}[f] for f in duty.files)
            number = "可" if duty.my_number_allowed else "不可"
            self.stdout.write(f"    提供先: {duty.recipient or '-'}　ファイル: {files}　個人番号: {number}")
        self.stdout.write(f"{len(duties)}件")
