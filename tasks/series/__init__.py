"""Anyone's sequences: classification and forecasting from a tidy long table or the UEA/UCR archive's ``.ts`` files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tasks.series.options import SeriesOptions
from tasks.series.sources import ArchiveSource, LongTable, TsFiles

if TYPE_CHECKING:
    from tasks.series.datamodule import SeriesDataModule

#: The task's DataModules by name, each with its options class (a config is checked against it first).
OPTIONS = {"SeriesDataModule": SeriesOptions}

# The DataModule imports torch and Lightning: it loads on first use (PEP 562), not with the package.
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs={"datamodule": ["SeriesDataModule"]})

__all__ = ["OPTIONS", "ArchiveSource", "LongTable", "SeriesDataModule", "SeriesOptions", "TsFiles"]
