"""Synthetic tasks whose relevant information lies a controlled distance back (delayed recall)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tasks.synthetic.options import RecallOptions

if TYPE_CHECKING:
    from tasks.synthetic.recall import RecallDataModule

#: The task's DataModules by name, each with its options class (a config is checked against it first).
OPTIONS = {"RecallDataModule": RecallOptions}

# The DataModule imports torch and Lightning: it loads on first use (PEP 562), not with the package.
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs={"recall": ["RecallDataModule"]})

__all__ = ["OPTIONS", "RecallDataModule", "RecallOptions"]
