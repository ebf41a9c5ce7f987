"""The inquiry log (問合せ), mounted at /disclosure/inquiries/ (開示窓口担当・業務担当者)."""

from django.urls import path

from disclosure import views_inquiries as views

urlpatterns: list = [
    path("", views.inquiry_list, name="inquiry_list"),
    path("new/", views.inquiry_new, name="inquiry_new"),
    path("<int:inquiry_pk>/", views.inquiry_detail, name="inquiry_detail"),
    path("<int:inquiry_pk>/answer/", views.inquiry_answer, name="inquiry_answer"),
]
