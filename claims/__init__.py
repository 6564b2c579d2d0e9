"""``make claims``: the rules of thumb about LSTM and GRU tested with sweeps and measurements (docs/claims.md)."""

from __future__ import annotations

from claims.run import claims_config, run_claims

__all__ = ["claims_config", "run_claims"]
