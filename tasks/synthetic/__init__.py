"""Synthetic tasks whose relevant information lies a controlled distance back (delayed recall)."""

from __future__ import annotations

from tasks.synthetic.recall import RecallDataModule

__all__ = ["RecallDataModule"]
