"""``gatelab claims``: the command, found by gatelab's CLI through the ``gatelab.commands`` entry point group
(pyproject.toml), so that the engine never imports this application."""

from __future__ import annotations

from pathlib import Path

__all__ = ["claims_command"]


def claims_command(claims: list[str] | None = None, budget: str = "small", store: Path = Path("mlruns"),
                   out: Path | None = None, progress: bool = True) -> None:
    """Test the rules of thumb about LSTM and GRU with sweeps and measurements, and print the evidence table.

    Args:
        claims: the rules to test by id or name, e.g. [R1,R3,R5] or [long_sequences]; all when omitted
            (configs/claims.yaml lists them).
        budget: tiny (a smoke test), small (a 2-core CPU within 90 minutes) or large (a GPU or a cluster).
        store: folder of the MLflow store and the Optuna journal (experiment gatelab-claims).
        out: folder for claims.md, claims.json and claims.html; default <store>/claims/<budget>.
        progress: show the progress bar over experiments.
    """
    from claims.run import run_claims  # here, not at the top: `gatelab claims --help` answers without the engine

    report = run_claims(claims or [], budget, store, out or store / "claims" / budget, progress)
    print(report.to_markdown(), flush=True)
    print(f"gatelab: claims.md, claims.json and claims.html in {out or store / 'claims' / budget}/ and on MLflow run "
          f"{report.run} (experiment gatelab-claims); browse it with `make ui`.", flush=True)
