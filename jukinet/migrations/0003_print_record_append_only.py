"""The print ledger is append-only, enforced by the database (docs/printing.md).

A print record is inserted once, complete (the serial is reserved from the id sequence before
the PDF is rendered), so no UPDATE is ever needed: UPDATE and DELETE are refused with SQLSTATE
23000 (integrity_constraint_violation), which Django raises as ``IntegrityError``.

As for the access log (audit/migrations/0002_append_only_triggers.py) there is no TRUNCATE
trigger, because pytest-django empties tables with TRUNCATE; in production the application's
role must not hold TRUNCATE on this table, nor own it.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION jukinet_printrecord_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'print ledger is append-only (印刷記録は変更も削除もできません)'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER jukinet_printrecord_append_only
    BEFORE UPDATE OR DELETE ON jukinet_printrecord
    FOR EACH ROW EXECUTE FUNCTION jukinet_printrecord_refuse_change();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS jukinet_printrecord_append_only ON jukinet_printrecord;

DROP FUNCTION IF EXISTS jukinet_printrecord_refuse_change();
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split("\n\n") if part.strip()]


class Migration(migrations.Migration):
    dependencies = [("jukinet", "0002_print_record")]

    # One statement per list item, so no SQL splitting trips over the dollar-quoted body.
    operations = [migrations.RunSQL(_statements(FORWARD), _statements(REVERSE))]
