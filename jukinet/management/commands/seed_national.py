from django.core.management.base import BaseCommand, CommandError

from jukinet.national.models import NationalResident
from jukinet.national.seed import seed_residents


class Command(BaseCommand):
    help = "模擬全国サーバの他都道府県住民（合成データ）を登録する（docs/national-mock.md）。"

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=2000, help="登録する人数（既定 2,000）")
        parser.add_argument("--seed", type=int, default=1, help="乱数の種（既定 1）")
        parser.add_argument("--if-empty", action="store_true", help="すでに登録があれば何もしない（make up 用）")
        parser.add_argument("--replace", action="store_true", help="既存の登録を消してから作り直す")

    def handle(self, *args, people: int, seed: int, if_empty: bool, replace: bool, **options):
        if people < 0:
            raise CommandError("--people は0以上で指定してください。")
        if if_empty and NationalResident.objects.exists():
            self.stdout.write("模擬全国サーバの住民データは登録済みです。")
            return
        added = seed_residents(people=people, seed=seed, replace=replace)
        self.stdout.write(f"模擬全国サーバに他都道府県の住民 {added:,} 人を登録しました。")
