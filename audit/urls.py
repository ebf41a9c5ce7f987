from django.urls import path

from audit import views_auth

urlpatterns = [
    path("login", views_auth.login_view, name="login"),
    path("login/otp", views_auth.otp_view, name="login_otp"),
    path("logout", views_auth.logout_view, name="logout"),
    path("password/change", views_auth.password_change_view, name="password_change"),
    path("lock", views_auth.lock_view, name="lock"),
    path("unlock", views_auth.unlock_view, name="unlock"),
    path("terminal/enroll", views_auth.enrol_terminal_view, name="terminal_enrol"),
]
