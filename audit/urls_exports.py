"""Large data outputs (mounted under /exports/)."""

from django.urls import path

from audit import views_exports

urlpatterns = [
    path("", views_exports.export_list, name="exports"),
    path("<str:export_id>/", views_exports.export_detail, name="export_detail"),
    path("<str:export_id>/copy", views_exports.export_copy_view, name="export_copy"),
]
