"""Fraud detection on card transaction sequences."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tasks.fraud.handbook import HandbookSource
from tasks.fraud.options import FraudOptions
from tasks.fraud.simulator import SimulatedSource
from tasks.fraud.sources import ColumnMap, CsvSource
from tasks.fraud.splits import PrequentialSplit, TimeSplit

if TYPE_CHECKING:
    from tasks.fraud.datamodule import FraudDataModule

#: The task's DataModules by name, each with its options class (a config is checked against it first).
OPTIONS = {"FraudDataModule": FraudOptions}

# The DataModule imports torch and Lightning: it loads on first use (PEP 562), not with the package.
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs={"datamodule": ["FraudDataModule"]})

__all__ = ["OPTIONS", "ColumnMap", "CsvSource", "FraudDataModule", "FraudOptions", "HandbookSource",
           "PrequentialSplit", "SimulatedSource", "TimeSplit"]
