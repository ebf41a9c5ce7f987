from django.core.management.base import BaseCommand, CommandError

from audit import log_chain


class Command(BaseCommand):
    help = "未封印の操作記録を封印し、連鎖の先頭に署名して公開する（データベースと audit-heads.jsonl に記録）。"

    def handle(self, *args, **options):
        try:
            head = log_chain.publish_chain_head()
        except log_chain.HeadKeyError as exc:
            raise CommandError(f"署名鍵がないため公開できません：{exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"連鎖の先頭を公開しました：連番 {head.seal_seq}、ハッシュ {head.entry_hash}、鍵ID {head.key_id}"
                f"（写し：{log_chain.heads_file()}）"
            )
        )
