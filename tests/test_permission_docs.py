"""docs/operators.md shows the permission matrix as it is, not as it was."""

import re
from pathlib import Path

from audit.permissions import MATRIX


def test_the_documented_matrix_is_the_enforced_one():
    text = (Path(__file__).resolve().parent.parent / "docs" / "operators.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| ([a-z, ]+) \|$", text, flags=re.M))
    documented = {action: frozenset(r.strip() for r in roles.split(",")) for action, roles in rows.items()}
    assert documented == {action: frozenset(roles) for action, roles in MATRIX.items()}
