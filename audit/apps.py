from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "操作者・監査"

    def ready(self):
        # Field-level change history of the low-volume identity models (DESIGN.md §9: never
        # bulk-written, so django-auditlog's signals see every change). Secrets are excluded.
        from auditlog.registry import auditlog

        from audit.models import MachineClient, Operator, Terminal

        auditlog.register(Operator, exclude_fields=["password", "last_login"])
        auditlog.register(Terminal, exclude_fields=["credential_hash", "enrolment_code_hash"])
        auditlog.register(MachineClient, exclude_fields=["token_hash"])
