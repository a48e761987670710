"""The tree keeps its architecture: import-linter's contracts hold, and they catch a breach."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "graph_service"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 400
# Modules that import inside functions, each with a comment saying why (a cycle, start-up
# time, or a dependency only the tests install).
LAZY_IMPORTERS = {"cli.py", "store/__init__.py", "docs/check.py"}


def run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "graph_service",
                    ignore=shutil.ignore_patterns("static", "templates", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold() -> None:
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "breach", "contract"),
    [
        ("core/media.py", "import fastapi", "no FastAPI or Starlette below web/"),
        ("store/embedded.py", "import graph_service.web.html", "Layers"),
        ("linked_data/home.py", "import graph_service.validation.submissions", "Layers"),
        ("core/identifiers.py", "import graph_service.core.content", "No import cycles"),
    ],
)
def test_a_breach_of_the_architecture_is_caught(
    tmp_path: Path, module: str, breach: str, contract: str
) -> None:
    root = copy_of_the_package(tmp_path)
    if module == "core/identifiers.py":  # content imports identifiers: closing the circle
        content = (root / "graph_service/core/content.py").read_text()
        assert "graph_service.core.identifiers" in content
    target = root / "graph_service" / module
    target.write_text(target.read_text() + f"\n{breach}  # a deliberate breach\n")
    result = run_lint_imports(root)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken), result.stdout


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def test_no_module_is_over_the_size_that_fits_in_a_head() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in _modules()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_imports_inside_functions_only_where_a_comment_says_why() -> None:
    found = set()
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(node)
            ):
                found.add(str(path.relative_to(PACKAGE)))
    assert found <= LAZY_IMPORTERS, found - LAZY_IMPORTERS


def test_every_folder_says_what_it_owns_and_must_not_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc and len(doc) > 80, f"{init.parent.name}/__init__.py: {doc!r}"
