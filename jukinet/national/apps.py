from django.apps import AppConfig


class NationalConfig(AppConfig):
    name = "jukinet.national"
    label = "national"
    verbose_name = "全国サーバ（模擬）"
