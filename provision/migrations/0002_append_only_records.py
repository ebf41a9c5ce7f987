"""Provision records and batch outputs are append-only, enforced by the database.

A provision record is the evidence a resident sees in 提供状況の開示 (issue 7): once written
it is never changed or removed (until the retention task of the operations issue, which
will get its own narrowly scoped exception). UPDATE and DELETE are refused with SQLSTATE
23000 (Django raises IntegrityError). No TRUNCATE trigger, as for the access log
(audit/migrations/0002_append_only_triggers.py explains why and what production must do).
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION provision_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (提供記録は変更も削除もできません)', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER provision_record_append_only
    BEFORE UPDATE OR DELETE ON provision_provisionrecord
    FOR EACH ROW EXECUTE FUNCTION provision_refuse_change();

CREATE TRIGGER provision_batchoutput_append_only
    BEFORE UPDATE OR DELETE ON provision_batchoutput
    FOR EACH ROW EXECUTE FUNCTION provision_refuse_change();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS provision_batchoutput_append_only ON provision_batchoutput;

DROP TRIGGER IF EXISTS provision_record_append_only ON provision_provisionrecord;

DROP FUNCTION IF EXISTS provision_refuse_change();
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split("\n\n") if part.strip()]


class Migration(migrations.Migration):
    dependencies = [("provision", "0001_initial")]

    operations = [migrations.RunSQL(_statements(FORWARD), _statements(REVERSE))]
