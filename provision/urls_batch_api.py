"""API.md §3 batch provision (mounted under /api/provision/v1/)."""

urlpatterns: list = []
