"""Language modelling: word-level Penn Treebank (perplexity), character-level Tiny Shakespeare (bits per character)."""

from __future__ import annotations

from tasks.lm.corpus import TextFiles
from tasks.lm.datamodule import LanguageModelDataModule
from tasks.lm.module import LanguageModule, LRSchedule
from tasks.lm.sources import PennTreebank, TinyShakespeare

__all__ = ["LRSchedule", "LanguageModelDataModule", "LanguageModule", "PennTreebank", "TextFiles", "TinyShakespeare"]
