"""Language modelling: word-level Penn Treebank (perplexity), character-level Tiny Shakespeare (bits per character)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tasks.lm.corpus import TextFiles
from tasks.lm.options import LanguageModelOptions
from tasks.lm.schedule import LRSchedule
from tasks.lm.sources import PennTreebank, TinyShakespeare

if TYPE_CHECKING:
    from tasks.lm.datamodule import LanguageModelDataModule
    from tasks.lm.module import LanguageModule

#: The task's DataModules by name, each with its options class (a config is checked against it first).
OPTIONS = {"LanguageModelDataModule": LanguageModelOptions}

# The DataModule and LanguageModule import torch and Lightning: they load on first use (PEP 562), not with the package.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__, submod_attrs={"datamodule": ["LanguageModelDataModule"], "module": ["LanguageModule"]})

__all__ = ["OPTIONS", "LRSchedule", "LanguageModelDataModule", "LanguageModelOptions", "LanguageModule",
           "PennTreebank", "TextFiles", "TinyShakespeare"]
