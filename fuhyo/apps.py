from django.apps import AppConfig


class FuhyoConfig(AppConfig):
    name = "fuhyo"
    verbose_name = "附票本人確認情報ファイル"
