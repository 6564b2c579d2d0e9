"""Heartbeat classification on ECG recordings (MIT-BIH Arrhythmia Database, AAMI EC57 classes)."""

from __future__ import annotations

from tasks.physio.datamodule import PhysioDataModule
from tasks.physio.preprocess import Preprocessing
from tasks.physio.splits import PatientSplit

__all__ = ["PatientSplit", "PhysioDataModule", "Preprocessing"]
