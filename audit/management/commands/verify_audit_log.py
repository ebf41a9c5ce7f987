from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import log_chain


class Command(BaseCommand):
    help = (
        "操作記録のハッシュ連鎖を検証する（変更・削除・順序の入れ替え、公開済み先頭との不一致）。"
        "改ざんを検出したら終了コード1で終わる。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--seal-first", action="store_true", help="検証の前に未封印の記録を封印する")
        parser.add_argument(
            "--heads-file",
            type=Path,
            default=None,
            help="データベース外に保存した公開済み先頭（JSON Lines）。既定は設定の AUDIT_HEADS_FILE",
        )
        parser.add_argument("--no-heads-file", action="store_true", help="データベース外の公開済み先頭を読まない")
        parser.add_argument("--chunk-size", type=int, default=10000)

    def handle(self, *args, seal_first, heads_file, no_heads_file, chunk_size, **options):
        if seal_first:
            sealed = log_chain.seal_pending()
            self.stdout.write(f"封印しました：{sealed}件")
        extra_heads = []
        if not no_heads_file:
            try:
                extra_heads = log_chain.read_heads_file(heads_file)
            except ValueError as exc:
                raise CommandError(f"公開済み先頭のファイルを読めません：{exc}") from None
        report = log_chain.verify_chain(chunk_size=chunk_size, extra_heads=extra_heads)

        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"注意：{warning}"))
        if report.unsealed:
            self.stdout.write(
                f"未封印の記録：{report.unsealed}件（最古は記録ID {report.oldest_unsealed_id}）。"
                "改ざんではありません。封印後に検証されます。"
            )
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"操作記録の連鎖は正常です（{report.checked}件、未封印{report.unsealed}件）")
            )
            self.stdout.write(f"公開済み先頭との照合：{report.heads_checked}件")
            return
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(f"[{problem.kind}] {problem}"))
        listed = len(report.problems)
        if listed < report.problem_count:
            self.stdout.write(f"…ほか{report.problem_count - listed}件（表示を省略）")
        raise CommandError(
            f"操作記録の改ざんを検出しました（問題{report.problem_count}件、検証した記録{report.checked}件）"
        )
