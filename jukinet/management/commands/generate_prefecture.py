import datetime as dt
import os

from django.core.management.base import BaseCommand, CommandError

from jukinet.synth.generator import NotEmptyError, load_prefecture


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "合成県民データ（本人確認情報ファイルと附票本人確認情報ファイル）を生成し、COPY で一括投入する。"
        "同じ --residents・--seed・--as-of なら同じデータになる（個人番号の暗号文を除く）。"
        "詳細は docs/synthetic-data.md。"
    )
    # A data load touches only the four tables; URL and admin checks would only slow it down.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=_positive, required=True, help="生成する本人確認情報の人数")
        parser.add_argument("--seed", type=int, default=1, help="乱数の種（既定 1）")
        parser.add_argument(
            "--workers",
            type=_positive,
            default=min(2, os.cpu_count() or 1),
            help="生成・投入のプロセス数（既定: CPU 数、最大 2）。結果はプロセス数によらない。",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="両ファイルの現存・履歴テーブルを空にしてから投入する（指定しないと、データがあれば中止）",
        )
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="基準日 YYYY-MM-DD（既定: 今日）。生年月日・異動年月日はこの日以前になる。",
        )

    def handle(self, *args, residents: int, seed: int, workers: int, replace: bool, as_of, **options):
        self.stderr.style_func = None  # progress lines are not errors: no red
        try:
            load_prefecture(
                residents=residents,
                seed=seed,
                workers=workers,
                replace=replace,
                as_of=as_of,
                progress_stream=self.stderr,
            )
        except NotEmptyError as exc:
            raise CommandError(str(exc)) from None
