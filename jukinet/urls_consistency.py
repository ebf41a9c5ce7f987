"""整合性確認 (市町村CSとの突合) staff pages, mounted at /consistency/ (docs/consistency.md)."""

from django.urls import path

from jukinet import views_consistency, views_consistency_export

urlpatterns = [
    path("", views_consistency.check_list, name="consistency_list"),
    path("<str:check_id>/", views_consistency.check_detail, name="consistency_detail"),
    path("<str:check_id>/status", views_consistency.check_status, name="consistency_status"),
    path(
        "<str:check_id>/export",
        views_consistency_export.differences_export,
        name="consistency_differences_export",
    ),
]
