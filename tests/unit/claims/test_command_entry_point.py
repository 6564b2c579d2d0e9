"""`gatelab claims` reaches the CLI through the `gatelab.commands` entry point group, never through an import: an
installed application's command is found from its distribution's metadata, and pyproject declares the claims one."""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from gatelab.cli import COMMAND_GROUP, commands, main

ROOT = Path(__file__).resolve().parents[3]


def install_toy_app(folder: Path) -> None:
    """A toy application on ``sys.path`` whose dist-info declares two commands: its own, and one named like
    gatelab's ``sweep``."""
    (folder / "toy_app.py").write_text('def hello(name: str = "world") -> None:\n'
                                       '    """Say hello."""\n    print(f"hello {name}")\n')
    info = folder / "toy_app-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-app\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{COMMAND_GROUP}]\nhello = toy_app:hello\nsweep = toy_app:hello\n")


def test_an_installed_applications_command_runs_and_cannot_replace_gatelabs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    install_toy_app(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = commands()
    assert found["hello"].__module__ == "toy_app" and found["sweep"].__module__ == "gatelab.cli"
    main(["hello", "--name", "gatelab"])
    assert capsys.readouterr().out == "hello gatelab\n"
    sys.modules.pop("toy_app", None)


def test_pyproject_declares_the_claims_command_and_the_engine_does_not_import_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (name, target), = project["entry-points"][COMMAND_GROUP].items()
    command = EntryPoint(name, target, COMMAND_GROUP).load()
    assert (name, command.__module__, command.__name__) == ("claims", "claims.command", "claims_command")
    engine = ROOT / "platform" / "gatelab"
    assert not [path for path in engine.rglob("*.py") if "import claims" in path.read_text()
                or "from claims" in path.read_text()]
