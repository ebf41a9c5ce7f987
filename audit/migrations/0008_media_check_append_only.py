"""The weekly media check is append-only, like the register it checks (0006)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_media_check")]

    operations = [
        migrations.RunSQL(
            [
                "CREATE TRIGGER audit_mediacheck_append_only BEFORE UPDATE OR DELETE ON audit_mediacheck "
                "FOR EACH ROW EXECUTE FUNCTION audit_register_refuse_change()"
            ],
            ["DROP TRIGGER IF EXISTS audit_mediacheck_append_only ON audit_mediacheck"],
        )
    ]
