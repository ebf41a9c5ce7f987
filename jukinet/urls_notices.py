from django.urls import path

from jukinet import views_notices

urlpatterns = [
    path("", views_notices.overview, name="notices_overview"),
    path("list/", views_notices.notice_list, name="notices_list"),
    path("<str:file>/<str:notice_id>/", views_notices.notice_detail, name="notices_detail"),
]
