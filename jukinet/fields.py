"""Building blocks shared by the two files' models."""

from django.db import models

DIGITS_11 = r"^[0-9]{11}$"
DIGITS_6 = r"^[0-9]{6}$"


class Sex(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"


def digits_check(field: str, pattern: str, name: str, *, nullable: bool = False) -> models.CheckConstraint:
    condition = models.Q(**{f"{field}__regex": pattern})
    if nullable:
        condition |= models.Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=name)
