"""API.md §3 lookups and the duty list (mounted under /api/provision/v1/)."""

urlpatterns: list = []
