from django.urls import path

from jukinet import views_national

urlpatterns = [
    path("<str:file>/", views_national.query_view, name="national_query"),
]
