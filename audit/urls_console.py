"""The admin console (/console/). Each view declares its permission with ``staff_view``:

""                                          console.view
operators/ terminals/ clients/ (+ <id>/)    console.view
<kind>/<id>/suspend/                        identity.suspend
<kind>/<id>/reinstate/                      identity.reinstate
applications/, applications/<pk>/           console.view
applications/new/<subject_kind>/            application.file_issue
applications/revoke/<subject_kind>/<id>/    application.file_revoke
applications/<pk>/approve/, reject/         application.decide
removals/                                   removal_history.view
reviews/, reviews/<pk>/                     grant_review.view
reviews/create, .../sign-off/              grant_review.manage
"""

from django.urls import path

from audit import views_console as views
from audit.models import SubjectKind

urlpatterns = [
    path("", views.dashboard, name="console_dashboard"),
    path("applications/", views.application_list, name="console_applications"),
    path("applications/new/<str:subject_kind>/", views.application_new, name="console_application_new"),
    path(
        "applications/revoke/<str:subject_kind>/<str:subject_id>/",
        views.application_revoke,
        name="console_application_revoke",
    ),
    path("applications/<int:pk>/", views.application_detail, name="console_application"),
    path("applications/<int:pk>/approve/", views.application_approve_view, name="console_application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject_view, name="console_application_reject"),
    path("removals/", views.removal_list, name="console_removals"),
    path("reviews/", views.review_list, name="console_reviews"),
    path("reviews/create", views.review_create, name="console_review_create"),
    path("reviews/<int:pk>/", views.review_detail, name="console_review"),
    path("reviews/<int:pk>/sign-off/", views.review_sign_off, name="console_review_sign_off"),
    path("operators/", views.operator_list, name="console_operators"),
    path("terminals/", views.terminal_list, name="console_terminals"),
    path("clients/", views.client_list, name="console_clients"),
]


def _subject_urls(prefix: str, subject_kind: str, name: str) -> list:
    kwargs = {"subject_kind": subject_kind}
    return [
        path(f"{prefix}/<str:subject_id>/", views.subject_detail, kwargs, name=name),
        path(f"{prefix}/<str:subject_id>/suspend/", views.subject_suspend, kwargs, name=f"{name}_suspend"),
        path(f"{prefix}/<str:subject_id>/reinstate/", views.subject_reinstate, kwargs, name=f"{name}_reinstate"),
    ]


urlpatterns += [
    *_subject_urls("operators", SubjectKind.OPERATOR.value, "console_operator"),
    *_subject_urls("terminals", SubjectKind.TERMINAL.value, "console_terminal"),
    *_subject_urls("clients", SubjectKind.CLIENT.value, "console_client"),
]
