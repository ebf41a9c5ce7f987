from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from jukinet import api_consistency, api_cs

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("cs/v1/<str:file>/notices", api_cs.notices_post, name="api_cs_notices"),
    path("cs/v1/<str:file>/notices/<str:notice_id>", api_cs.notice_get, name="api_cs_notice"),
    path("cs/v1/<str:file>/consistency", api_consistency.consistency_post, name="api_cs_consistency"),
    path("cs/v1/<str:file>/consistency/<str:check_id>", api_consistency.consistency_get, name="api_cs_consistency_get"),
    path(
        "cs/v1/<str:file>/consistency/<str:check_id>/differences",
        api_consistency.consistency_differences,
        name="api_cs_consistency_differences",
    ),
    path("provision/v1/", include("provision.urls_api")),
    path("provision/v1/", include("provision.urls_batch_api")),
]
