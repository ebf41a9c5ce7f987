"""Staff pages of batch provision and approvals (mounted under /provision/)."""

urlpatterns: list = []
