"""Anyone's sequences: classification and forecasting from a tidy long table or the UEA/UCR archive's ``.ts`` files."""

from __future__ import annotations

from tasks.series.datamodule import SeriesDataModule
from tasks.series.sources import ArchiveSource, LongTable, TsFiles

__all__ = ["ArchiveSource", "LongTable", "SeriesDataModule", "TsFiles"]
