"""Seed the duty registry with real entries of 住基法別表第五 and 別表第六 (provision/duty_seed.py).

The item numbers in the codes and the citations are to be confirmed against the current text
of the law before production (see the note at the top of provision/duty_seed.py). Reversing
this migration removes only seed duties that no client has been granted since.
"""

from django.db import migrations


def forward(apps, schema_editor):
    from provision.duty_seed import seed

    seed(apps.get_model("provision", "Duty"), using=schema_editor.connection.alias)


def backward(apps, schema_editor):
    from provision.duty_seed import SEED_DUTIES

    Duty = apps.get_model("provision", "Duty")
    MachineClient = apps.get_model("audit", "MachineClient")
    granted = set()
    for codes in MachineClient.objects.values_list("duty_codes", flat=True):
        granted.update(codes)
    seeded = [d["code"] for d in SEED_DUTIES]
    Duty.objects.using(schema_editor.connection.alias).filter(code__in=seeded).exclude(code__in=granted).delete()


class Migration(migrations.Migration):
    dependencies = [("provision", "0002_append_only_records"), ("audit", "0004_outputapproval")]

    operations = [migrations.RunPython(forward, backward)]
