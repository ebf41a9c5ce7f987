from django.contrib import admin

from audit.models import Operator


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ("login_id", "full_name", "department", "role", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("login_id", "full_name", "staff_number")
    readonly_fields = ("password", "last_login", "created_at")
    exclude = ("user_permissions", "groups")
