"""The top-level folder `platform/` must never shadow the standard library's `platform`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_torch_and_platform_from_repo_root() -> None:
    code = "import torch, platform; print(platform.system())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"
    assert not (ROOT / "platform" / "__init__.py").exists()
