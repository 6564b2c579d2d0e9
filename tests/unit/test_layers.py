"""The engine's layers hold: no upward import, no cycle (TYPE_CHECKING imports included), no task imported.

The contracts are in pyproject.toml (``[tool.importlinter]``); import-linter checks them on the real import graph.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_engine_layers_contracts_are_kept(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
