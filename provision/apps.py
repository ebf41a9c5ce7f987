from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import post_migrate

SEED_MIGRATION = ("provision", "0003_seed_duties")


def _restore_seed_duties(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    # After a test database flush (TransactionTestCase) the seed of migration 0003 is gone, and
    # issuing a client checks its duty codes against the registry: put the seed back. Only while
    # that migration stands applied (not after migrating back), and a registry holding any duty
    # is left alone (provision/duty_seed.py).
    if SEED_MIGRATION not in MigrationRecorder(connections[using]).applied_migrations():
        return
    from provision.duty_seed import seed_if_empty
    from provision.models import Duty

    seed_if_empty(Duty, using=using)


class ProvisionConfig(AppConfig):
    name = "provision"
    verbose_name = "提供・移転"

    def ready(self):
        # Field-level change history of the duty registry (low volume, never bulk-written:
        # DESIGN.md §9), shown on the console's duty page. The access log records each change too.
        from auditlog.registry import auditlog

        from provision.models import Duty

        auditlog.register(Duty, exclude_fields=["id", "created_at", "updated_at"])
        post_migrate.connect(_restore_seed_duties, sender=self, dispatch_uid="provision_restore_seed_duties")
