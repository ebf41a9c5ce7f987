"""Staff pages of batch provision (mounted under /provision/); approvals are under /approvals/."""

from django.urls import path

from provision import views_batches

urlpatterns = [
    path("batches/", views_batches.batch_list, name="provision_batches"),
    path("batches/new", views_batches.batch_new, name="provision_batch_new"),
    path("batches/status", views_batches.batch_status_json, name="provision_batch_status"),
    path("batches/<str:batch_id>/", views_batches.batch_detail, name="provision_batch_detail"),
    path("batches/<str:batch_id>/result", views_batches.batch_download, name="provision_batch_result"),
    path("batches/<str:batch_id>/password", views_batches.batch_password, name="provision_batch_password"),
]
