from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models


class Role(models.TextChoices):
    """Staff roles of DESIGN.md §2. One person, one ID: there is no shared account."""

    GYOMU = "gyomu", "業務担当者"
    KAIJI = "kaiji", "開示窓口担当"
    TEIKYO = "teikyo", "提供担当"
    SYSADMIN = "sysadmin", "システム管理者"
    SECADMIN = "secadmin", "セキュリティ管理者"
    AUDITOR = "auditor", "監査担当"


class OperatorManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, login_id: str, password: str | None = None, **fields):
        if not login_id:
            raise ValueError("login_id is required")
        operator = self.model(login_id=login_id, **fields)
        operator.set_password(password)
        operator.save(using=self._db)
        return operator

    def create_superuser(self, login_id: str, password: str | None = None, **fields):
        fields.setdefault("role", Role.SYSADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(login_id, password, **fields)


login_id_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$", "ログインIDは半角英数字3〜32文字です。")


class Operator(AbstractBaseUser, PermissionsMixin):
    """A person who operates the system. The full ID workflow lives in audit/services.py."""

    login_id = models.CharField("ログインID", max_length=32, unique=True, validators=[login_id_validator])
    staff_number = models.CharField("職員番号", max_length=32, unique=True, null=True, blank=True)
    full_name = models.CharField("氏名", max_length=100, blank=True)
    department = models.CharField("所属", max_length=100, blank=True)
    role = models.CharField("役割", max_length=16, choices=Role.choices, default=Role.GYOMU)
    is_active = models.BooleanField("有効", default=True)
    is_staff = models.BooleanField("管理画面の利用", default=False)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)

    objects = OperatorManager()

    USERNAME_FIELD = "login_id"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "操作者"
        verbose_name_plural = "操作者"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="audit_operator_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.login_id
