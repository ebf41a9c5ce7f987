"""Disclosure desk pages (mounted under /disclosure/): requests and forms here, corrections and
inquiries in their own modules."""

from django.urls import include, path

from disclosure import views

urlpatterns: list = [
    path("", views.home, name="disclosure_home"),
    path("requests/", views.disclosure_list, name="disclosure_list"),
    path("requests/new/<str:file>/", views.disclosure_new, name="disclosure_new"),
    path("requests/<int:disclosure_pk>/", views.disclosure_detail, name="disclosure_detail"),
    path("requests/<int:disclosure_pk>/match/", views.disclosure_match, name="disclosure_match"),
    path("requests/<int:disclosure_pk>/decide/", views.disclosure_decide, name="disclosure_decide"),
    path("requests/<int:disclosure_pk>/print/notice/", views.disclosure_print_notice, name="disclosure_print_notice"),
    path("requests/<int:disclosure_pk>/print/record/", views.disclosure_print_record, name="disclosure_print_record"),
    path("requests/<int:disclosure_pk>/issue/", views.disclosure_issue, name="disclosure_issue"),
    path("requests/<int:disclosure_pk>/withdraw/", views.disclosure_withdraw, name="disclosure_withdraw"),
    path("provision-status/", views.status_list, name="provision_status_list"),
    path("provision-status/new/<str:file>/", views.status_new, name="provision_status_new"),
    path("provision-status/<int:provision_status_pk>/", views.status_detail, name="provision_status_detail"),
    path("provision-status/<int:provision_status_pk>/match/", views.status_match, name="provision_status_match"),
    path("provision-status/<int:provision_status_pk>/print/", views.status_print, name="provision_status_print"),
    path("provision-status/<int:provision_status_pk>/issue/", views.status_issue, name="provision_status_issue"),
    path("corrections/", include("disclosure.urls_corrections")),
    path("inquiries/", include("disclosure.urls_inquiries")),
]
