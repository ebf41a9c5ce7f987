import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from honnin.services import resident_my_numbers_rekey
from jukinet.crypto import KeyringError, get_keyring, load_keyring_from_environment, write_keyring_file


class Command(BaseCommand):
    help = "個人番号の暗号鍵を更新し、現用鍵以外で暗号化された個人番号をすべて再暗号化する。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-key",
            metavar="KEY_ID",
            help="鍵ファイルに新しい鍵を追加して現用鍵にしてから再暗号化する（鍵ファイル運用時のみ）",
        )
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, new_key=None, batch_size=5000, **options):
        try:
            keyring = load_keyring_from_environment()
        except KeyringError as exc:
            raise CommandError(str(exc)) from None
        if new_key:
            if "JUKINET_FIELD_KEYS" in os.environ:
                raise CommandError(
                    "--new-key は鍵ファイル運用時のみ使えます（JUKINET_FIELD_KEYS は外部で更新してください）"
                )
            try:
                keyring = keyring.with_new_active_key(new_key)
            except KeyringError as exc:
                raise CommandError(str(exc)) from None
            write_keyring_file(Path(settings.FIELD_KEYS_FILE), keyring)
            get_keyring.cache_clear()
            self.stdout.write(f"新しい現用鍵 {new_key} を鍵ファイルに追加しました。")
        for result in resident_my_numbers_rekey(keyring=keyring, batch_size=batch_size):
            self.stdout.write(f"{result.table}: {result.rewritten} 件を現用鍵 {keyring.active_id} で再暗号化しました。")
