"""Console pages of the duty registry and clients' duties (mounted under /console/duties/)."""

urlpatterns: list = []
