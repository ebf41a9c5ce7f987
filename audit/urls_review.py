"""The log review (ログの点検, docs/log-review.md), mounted at /audit/review/:

""                      log_review.view   the six reports and their unreviewed findings
<report>/               log_review.view   one report's findings for a period
<report>/mark/          log_review.mark   mark one finding reviewed with a note (POST)
"""

from django.urls import path

from audit import views_review

urlpatterns = [
    path("", views_review.review_index, name="log_review"),
    path("<str:report>/", views_review.review_report, name="log_review_report"),
    path("<str:report>/mark/", views_review.review_mark_view, name="log_review_mark"),
]
