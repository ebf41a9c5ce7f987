"""Monthly statistics (mounted at /statistics/, docs/statistics.md)."""

from django.urls import path

from audit import views_statistics

urlpatterns = [
    path("", views_statistics.statistics_page, name="statistics"),
    path("export", views_statistics.statistics_export, name="statistics_export"),
]
