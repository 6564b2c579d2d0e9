"""gatelab: fair, tuned, repeatable LSTM-vs-GRU experiments."""

from __future__ import annotations

from gatelab.errors import ConfigError, DataError, GatelabError

__all__ = ["ConfigError", "DataError", "GatelabError"]
