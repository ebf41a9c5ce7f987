"""Append-only tables, enforced by the database rather than by the application.

- ``audit_accesslogentry``: INSERT only as an unsealed entry; DELETE never; UPDATE only for
  the one-time sealing (seal columns from empty to filled, every other column unchanged).
- ``audit_removalrecord`` and ``audit_chainhead``: no UPDATE, no DELETE.

The refusal uses SQLSTATE 23000 (integrity_constraint_violation), so Django raises
``IntegrityError``.

There is deliberately no TRUNCATE trigger: pytest-django empties tables with TRUNCATE
between transactional tests. In production the application's database role must not hold
TRUNCATE on these tables, must not own them (an owner can DISABLE or DROP the triggers) and
must not be a superuser (who can set session_replication_role = replica and skip them).
See docs/audit-log.md.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION audit_log_refuse_insert_sealed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only the sealer chains entries; a writer cannot insert a ready-made link.
    IF NEW.seal_seq IS NOT NULL OR NEW.prev_hash <> '' OR NEW.entry_hash <> '' OR NEW.sealed_at IS NOT NULL THEN
        RAISE EXCEPTION 'audit log entries are inserted unsealed (操作記録は未封印で追加してください)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION audit_log_refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only (操作記録は削除できません)'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE FUNCTION audit_log_allow_only_sealing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seal_seq IS NULL
       AND NEW.seal_seq IS NOT NULL
       AND NEW.sealed_at IS NOT NULL
       AND length(NEW.prev_hash) = 64
       AND length(NEW.entry_hash) = 64
       AND NEW.id IS NOT DISTINCT FROM OLD.id
       AND NEW.occurred_at IS NOT DISTINCT FROM OLD.occurred_at
       AND NEW.actor_kind IS NOT DISTINCT FROM OLD.actor_kind
       AND NEW.actor IS NOT DISTINCT FROM OLD.actor
       AND NEW.terminal IS NOT DISTINCT FROM OLD.terminal
       AND NEW.action IS NOT DISTINCT FROM OLD.action
       AND NEW.target_file IS NOT DISTINCT FROM OLD.target_file
       AND NEW.target_code IS NOT DISTINCT FROM OLD.target_code
       AND NEW.duty IS NOT DISTINCT FROM OLD.duty
       AND NEW.outcome IS NOT DISTINCT FROM OLD.outcome
       AND NEW.detail IS NOT DISTINCT FROM OLD.detail
       AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
       AND NEW.remote_addr IS NOT DISTINCT FROM OLD.remote_addr
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only (操作記録は変更できません)'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER audit_accesslogentry_insert_unsealed
    BEFORE INSERT ON audit_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_insert_sealed();

CREATE TRIGGER audit_accesslogentry_no_delete
    BEFORE DELETE ON audit_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_delete();

CREATE TRIGGER audit_accesslogentry_only_sealing
    BEFORE UPDATE ON audit_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION audit_log_allow_only_sealing();

CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (この記録は変更も削除もできません)', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER audit_removalrecord_append_only
    BEFORE UPDATE OR DELETE ON audit_removalrecord
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_chainhead_append_only
    BEFORE UPDATE OR DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS audit_chainhead_append_only ON audit_chainhead;

DROP TRIGGER IF EXISTS audit_removalrecord_append_only ON audit_removalrecord;

DROP FUNCTION IF EXISTS audit_refuse_change();

DROP TRIGGER IF EXISTS audit_accesslogentry_only_sealing ON audit_accesslogentry;

DROP TRIGGER IF EXISTS audit_accesslogentry_no_delete ON audit_accesslogentry;

DROP TRIGGER IF EXISTS audit_accesslogentry_insert_unsealed ON audit_accesslogentry;

DROP FUNCTION IF EXISTS audit_log_allow_only_sealing();

DROP FUNCTION IF EXISTS audit_log_refuse_delete();

DROP FUNCTION IF EXISTS audit_log_refuse_insert_sealed();
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split("\n\n") if part.strip()]


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    # One statement per list item: Django then runs each as is, with no SQL splitting to trip
    # over the dollar-quoted function bodies.
    operations = [migrations.RunSQL(_statements(FORWARD), _statements(REVERSE))]
