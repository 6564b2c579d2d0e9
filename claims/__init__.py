"""``make claims``: the rules of thumb about LSTM and GRU tested with sweeps and measurements (docs/claims.md).

The package imports nothing itself, so that ``gatelab claims --help`` (``claims.command``) answers without
torch, Lightning or MLflow: the run is ``claims.run`` (``run_claims``, ``claims_config``).
"""
