from django.apps import AppConfig


class HonninConfig(AppConfig):
    name = "honnin"
    verbose_name = "本人確認情報ファイル"
