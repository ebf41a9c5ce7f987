"""Mounted twice in jukinet/urls.py: under /honnin/ and /fuhyo/ (the ``file`` argument)."""

from django.urls import path

from jukinet import views_records as views

urlpatterns = [
    path("search/", views.search, name="records_search"),
    path("search/print/", views.search_print, name="records_search_print"),
    path("records/<int:pk>/", views.record_detail, name="records_detail"),
    path("records/<int:pk>/my-number/", views.my_number_reveal, name="records_my_number"),
    path("records/<int:pk>/print/", views.record_print, name="records_print"),
]
