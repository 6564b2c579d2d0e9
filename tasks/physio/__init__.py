"""Heartbeat classification on ECG recordings (MIT-BIH Arrhythmia Database, AAMI EC57 classes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tasks.physio.options import PhysioOptions
from tasks.physio.preprocess import Preprocessing
from tasks.physio.splits import PatientSplit

if TYPE_CHECKING:
    from tasks.physio.datamodule import PhysioDataModule

#: The task's DataModules by name, each with its options class (a config is checked against it first).
OPTIONS = {"PhysioDataModule": PhysioOptions}

# The DataModule imports torch and Lightning: it loads on first use (PEP 562), not with the package.
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs={"datamodule": ["PhysioDataModule"]})

__all__ = ["OPTIONS", "PatientSplit", "PhysioDataModule", "PhysioOptions", "Preprocessing"]
