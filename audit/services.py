"""Writes for operators. The issuance workflow (新規発効届・失効届) arrives with the operators issue."""

from django.db import transaction

from audit.models import Operator, Role


@transaction.atomic
def operator_create_demo(*, login_id: str, role: str, password: str, full_name: str) -> Operator:
    """Create or refresh a demonstration operator (development mode only; never in production)."""
    if role not in Role.values:
        raise ValueError("unknown role")
    operator, _ = Operator.objects.get_or_create(
        login_id=login_id,
        defaults={"role": role, "full_name": full_name, "department": "デモ", "staff_number": f"DEMO-{login_id}"},
    )
    operator.role = role
    operator.full_name = full_name
    operator.is_staff = role == Role.SYSADMIN
    operator.is_superuser = role == Role.SYSADMIN
    operator.set_password(password)
    operator.save()
    return operator
