"""DESIGN.md §5: honnin and fuhyo share the database but not their insides. The one permitted
path (a 個人番号 handed to the fuhyo temporary area) comes with the provision issue; until
then neither app imports the other at all."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(app: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / app).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count(".") >= 1:
                # import_string("honnin.services.x") and the like
                found.add((str(path.relative_to(ROOT)), node.value))
    return found


@pytest.mark.parametrize(("app", "other"), [("honnin", "fuhyo"), ("fuhyo", "honnin")])
def test_one_file_does_not_import_the_other(app, other):
    crossing = sorted(
        (where, module) for where, module in _imported_modules(app) if module == other or module.startswith(f"{other}.")
    )
    assert crossing == []
