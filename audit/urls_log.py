from django.urls import path

from audit import views_log

urlpatterns = [
    path("log/", views_log.log_list, name="audit_log"),
    path("log/export", views_log.log_export, name="audit_log_export"),
]
