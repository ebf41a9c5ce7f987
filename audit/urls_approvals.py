"""Prior approval of large outputs (mounted under /approvals/)."""

from django.urls import path

from audit import views_approvals

urlpatterns = [
    path("", views_approvals.approval_list, name="approvals"),
    path("<int:pk>/", views_approvals.approval_detail, name="approval_detail"),
    path("<int:pk>/decide", views_approvals.approval_decide_view, name="approval_decide"),
]
