from django.urls import include, path

from jukinet import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("audit.urls")),
    path("console/duties/", include("provision.urls_console")),
    path("console/", include("audit.urls_console")),
    path("audit/review/", include("audit.urls_review")),
    path("audit/", include("audit.urls_log")),
    path("honnin/", include("jukinet.urls_records"), {"file": "honnin"}),
    path("fuhyo/", include("jukinet.urls_records"), {"file": "fuhyo"}),
    path("provision/", include("provision.urls_staff")),
    path("approvals/", include("audit.urls_approvals")),
    path("disclosure/", include("disclosure.urls")),
    path("notices/", include("jukinet.urls_notices")),
    path("prints/", include("jukinet.urls_prints")),
    path("national-query/", include("jukinet.urls_national")),
    path("consistency/", include("jukinet.urls_consistency")),
    path("statistics/", include("audit.urls_statistics")),
    path("backups/", include("audit.urls_backups")),
    path("exports/", include("audit.urls_exports")),
    path("retention/", include("jukinet.urls_retention")),
    path("api/", include("jukinet.urls_api")),
]

handler404 = "jukinet.views.not_found"
handler500 = "jukinet.views.server_error"
