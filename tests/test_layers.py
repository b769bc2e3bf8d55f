"""The layer contracts in pyproject.toml hold, and they really fail when broken."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
	return subprocess.run(
		[str(LINT_IMPORTS), "--no-cache"],
		cwd=root,
		capture_output=True,
		text=True,
		env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
		timeout=120,
	)


@pytest.fixture
def tree_copy(tmp_path):
	shutil.copytree(
		REPO / "gigafibre_fsm", tmp_path / "gigafibre_fsm", ignore=shutil.ignore_patterns("__pycache__")
	)
	shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
	return tmp_path


def test_contracts_hold_on_the_tree(tree_copy):
	result = _lint(tree_copy)
	assert result.returncode == 0, result.stdout + result.stderr
	assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
	"module, line, contract",
	[
		("core/__init__.py", "import frappe", "core is pure"),
		("core/__init__.py", "from gigafibre_fsm import settings", "core is pure"),
		("core/__init__.py", "import gigafibre_fsm.connectors", "core is pure"),
		("connectors/__init__.py", "from frappe.utils import now", "connectors use core at most"),
		("connectors/__init__.py", "import gigafibre_fsm.network", "connectors use core at most"),
		("flows/kinds.py", "from gigafibre_fsm.flows import runtime", "flows: the editor over the runtime"),
		("flows/context.py", "from gigafibre_fsm.flows import kinds", "flows: the editor over the runtime"),
	],
)
def test_a_forbidden_import_breaks_the_build(tree_copy, module, line, contract):
	target = tree_copy / "gigafibre_fsm" / module
	target.write_text(target.read_text() + f"\n{line}\n")
	result = _lint(tree_copy)
	assert result.returncode != 0
	assert "BROKEN" in result.stdout
	assert contract in result.stdout
