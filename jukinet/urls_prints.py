from django.urls import path

from jukinet import views_prints

urlpatterns = [
    path("", views_prints.ledger, name="prints_ledger"),
]
