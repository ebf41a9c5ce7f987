"""Correction requests (訂正・追加・削除の申出), mounted at /disclosure/corrections/ (開示窓口担当)."""

from django.urls import path

from disclosure import views_corrections as views

urlpatterns: list = [
    path("", views.correction_list, name="correction_list"),
    path("new/", views.correction_new, name="correction_new"),
    path("<int:correction_pk>/", views.correction_detail, name="correction_detail"),
    path("<int:correction_pk>/investigate/", views.correction_investigate, name="correction_investigate"),
    path("<int:correction_pk>/corrected/", views.correction_corrected, name="correction_corrected"),
    path("<int:correction_pk>/not-corrected/", views.correction_not_corrected, name="correction_not_corrected"),
    path("<int:correction_pk>/print/", views.correction_print, name="correction_print"),
]
