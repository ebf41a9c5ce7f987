"""DESIGN.md §5: honnin and fuhyo share the database but not their insides.

The one permitted path: ``fuhyo.services_my_number`` imports ``honnin.handover`` (a 個人番号 by
住民票コード, for the fuhyo temporary area), and nothing else of either app imports the other.
Two independent checks, so that neither a refactoring of one nor a blind spot of the other
lets a second path in:

* the import contracts of pyproject.toml, run with ``lint-imports`` (import-linter: direct and
  indirect imports, through any module of the project);
* the AST walk below, which also sees dotted strings (``import_string("honnin.x")``), which
  import-linter does not.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("jukinet", "honnin", "fuhyo", "provision", "disclosure", "audit")
THE_ONE_PATH = ("fuhyo/services_my_number.py", "honnin.handover")


def _imported_modules(app: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / app).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(where, alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((where, node.module))
                # "from honnin import handover" names the module in the alias.
                found |= {(where, f"{node.module}.{alias.name}") for alias in node.names}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count(".") >= 1:
                # import_string("honnin.services.x") and the like
                found.add((where, node.value))
    return found


def _crossing(app: str, other: str) -> list[tuple[str, str]]:
    return sorted(
        (where, module) for where, module in _imported_modules(app) if module == other or module.startswith(f"{other}.")
    )


def test_honnin_never_imports_fuhyo():
    assert _crossing("honnin", "fuhyo") == []


def _is_handover(module: str) -> bool:
    return module == "honnin.handover" or module.startswith("honnin.handover.")


def test_fuhyo_imports_only_the_handover_of_honnin_and_only_from_its_temporary_area():
    crossing = _crossing("fuhyo", "honnin")
    assert THE_ONE_PATH in crossing
    assert [(where, module) for where, module in crossing if where != THE_ONE_PATH[0] or not _is_handover(module)] == []


def test_the_handover_has_one_caller_in_the_whole_project():
    callers = {where for app in APPS for where, module in _imported_modules(app) if _is_handover(module)}
    assert callers == {THE_ONE_PATH[0]}


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.fail("lint-imports is missing: install the dev extra (pip install -e '.[dev]')")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " 0 broken" in result.stdout
