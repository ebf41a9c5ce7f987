"""API.md §3 batch provision (mounted under /api/provision/v1/)."""

from django.urls import path

from provision import api_batches

urlpatterns = [
    path("<str:file>/batches", api_batches.batches_post, name="api_provision_batches"),
    path("<str:file>/batches/<str:batch_id>", api_batches.batch_get, name="api_provision_batch"),
    path("<str:file>/batches/<str:batch_id>/result", api_batches.batch_result, name="api_provision_batch_result"),
]
