"""The backup register and the review marks are append-only, enforced by the database.

A 記録簿 entry is the evidence of what left the system in a file and where it went; a review
mark is the auditor's word that a finding was looked at. Neither is changed or removed:
UPDATE and DELETE are refused with SQLSTATE 23000 (Django raises IntegrityError).
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION audit_register_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (記録簿は変更も削除もできません)', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER audit_backuprecord_append_only
    BEFORE UPDATE OR DELETE ON audit_backuprecord
    FOR EACH ROW EXECUTE FUNCTION audit_register_refuse_change();

CREATE TRIGGER audit_reviewmark_append_only
    BEFORE UPDATE OR DELETE ON audit_reviewmark
    FOR EACH ROW EXECUTE FUNCTION audit_register_refuse_change();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS audit_reviewmark_append_only ON audit_reviewmark;

DROP TRIGGER IF EXISTS audit_backuprecord_append_only ON audit_backuprecord;

DROP FUNCTION IF EXISTS audit_register_refuse_change();
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split("\n\n") if part.strip()]


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_operations_records")]

    operations = [migrations.RunSQL(_statements(FORWARD), _statements(REVERSE))]
