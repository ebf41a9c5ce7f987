"""The backup register (記録簿), mounted under /backups/ (docs/backups.md)."""

from django.urls import path

from audit import views_backups

urlpatterns = [
    path("", views_backups.register_list, name="backups"),
    path("media-check", views_backups.media_check, name="backup_media_check"),
    path("<int:backup_pk>/", views_backups.register_detail, name="backup_detail"),
    path("<int:backup_pk>/copy", views_backups.register_copy, name="backup_copy"),
]
