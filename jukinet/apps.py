from django.apps import AppConfig


class JukinetConfig(AppConfig):
    name = "jukinet"
    verbose_name = "住基ネット 共通"
