"""Console pages of the duty registry and clients' duties (mounted under /console/duties/).

""                          duty.view     the registry (filter by table, file, state) and the bodies
new/                        duty.manage   register a duty
<duty_code>/                duty.view     one duty: particulars, clients holding it, change history
<duty_code>/edit/           duty.manage   change a duty (never its code)
clients/<client_id>/        duty.manage   the duties an executive body or department may ask for
"""

from django.urls import path

from provision import views_console as views

urlpatterns = [
    path("", views.duty_list, name="console_duties"),
    path("new/", views.duty_new, name="console_duty_new"),
    path("clients/<str:client_id>/", views.client_duties, name="console_client_duties"),
    path("<str:duty_code>/", views.duty_detail, name="console_duty"),
    path("<str:duty_code>/edit/", views.duty_edit, name="console_duty_edit"),
]
