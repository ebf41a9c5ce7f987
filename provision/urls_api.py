"""API.md §3 lookups and the duty list (mounted under /api/provision/v1/)."""

from django.urls import path

from provision import api

urlpatterns = [
    path("duties", api.duties_get, name="api_provision_duties"),
    path("<str:file>/lookup", api.lookup_post, name="api_provision_lookup"),
    # An addition to API.md (docs/provision.md): the 個人番号 of a fuhyo lookup, again, within its window.
    path("<str:file>/lookup/<str:provision_id>/redeliver", api.redeliver_post, name="api_provision_redeliver"),
]
