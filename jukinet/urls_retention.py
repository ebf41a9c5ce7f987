"""The retention erasure runs (mounted under /retention/)."""

from django.urls import path

from jukinet import views_retention

urlpatterns = [
    path("", views_retention.erasure_list, name="retention"),
    path("<int:run_pk>/", views_retention.erasure_detail, name="retention_run"),
]
