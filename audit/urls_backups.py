"""Placeholder: filled in by the operations work (issue 8)."""

urlpatterns: list = []
