"""Fraud detection on card transaction sequences."""

from __future__ import annotations

from tasks.fraud.datamodule import FraudDataModule
from tasks.fraud.handbook import HandbookSource
from tasks.fraud.simulator import SimulatedSource
from tasks.fraud.sources import ColumnMap, CsvSource
from tasks.fraud.splits import PrequentialSplit, TimeSplit

__all__ = ["ColumnMap", "CsvSource", "FraudDataModule", "HandbookSource", "PrequentialSplit", "SimulatedSource",
           "TimeSplit"]
