from django.apps import AppConfig


class JukinetConfig(AppConfig):
    name = "jukinet"
    verbose_name = "住基ネット 共通"

    def ready(self) -> None:
        from jukinet import checks  # noqa: F401 - registers the system checks
