"""R1's, R2's and R4's ECG legs on toy physio sweeps of the fixture records (the tiny budget runs none of them)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from gatelab.errors import ConfigError
from gatelab.tracking.client import Tracker

from claims.config import Budget
from claims.lab import EXPERIMENT, Lab
from claims.rules import RULES, RuleContext
from claims.run import claims_config

MITDB = Path(__file__).resolve().parents[2] / "fixtures" / "mitdb"


def toy_layer(cache: Path) -> dict:
    """A physio sweep in seconds: 4 training records (one validates), 1 test record, 1 trial per cell, 1 epoch."""
    return {"data": {"init_args": {"path": str(MITDB), "cache_dir": str(cache), "context_beats": 1,
                                   "split": {"train_records": [114, 200, 208, 210, 232], "val_records": [200],
                                             "test_records": [233]},
                                   "preprocess": {"downsample": 6, "lowpass_hz": 25.0}}},
            "trainer": {"max_epochs": 1}, "sweep": {"trials": 1, "startup_trials": 1, "prune": False},
            "search_space": [{"name": "model.hidden_size", "type": "int", "low": 4, "high": 8}]}


def test_ecg_legs_of_r1_r2_and_r4_share_their_sweeps_and_state_their_effects(tmp_path: Path) -> None:
    config = claims_config()
    budget = Budget("toy", "the ECG legs on fixture records", 2, {}, {"physio": toy_layer(tmp_path / "cache")})
    store = tmp_path / "mlruns"
    tracker = Tracker(store, "claims", EXPERIMENT)
    parent = tracker.start_run("claims-toy", {})
    lab = Lab(store, budget, tracker, parent, budget.write_layers(tmp_path))

    def context(rule: str) -> RuleContext:
        return RuleContext(lab, tracker.start_run(rule, {}, parent=parent), config.rules[rule], config.confidence,
                           config.power)

    r1 = RULES["R1"].run(context("R1"), lengths=[], lm_bptt=[], ecg_context_beats=[0, 1], series_context=[])
    r2 = RULES["R2"].run(context("R2"), recall=0.8, bins=15, tasks=["physio"], ecg_classes=["S", "V"])
    r4 = RULES["R4"].run(context("R4"), card_fractions=[], ecg_record_fractions=[0.5, 1.0], series_fractions=[])
    # R2's sweep and R4's whole-data sweep are R1's context-1 sweep: three sweeps in all
    assert sorted(outcome.spec.describe() for outcome in lab.outcomes.values()) == [
        "physio, context_beats=0", "physio, context_beats=1", "physio, record_fraction=0.5"]
    fewer = next(outcome for outcome in lab.outcomes.values() if "record_fraction" in outcome.spec.describe())
    params = tracker.client.get_run(fewer.run).data.params  # the sweep's data report: 2 of its 4 training records
    assert params["data.train_record_fraction"] == "0.5" and len(params["data.train_records_kept"].split(", ")) == 2
    assert [finding.experiment for finding in r1] == [
        "physio: MIT-BIH inter-patient beats with their rhythm (a step per beat), beats on each side 1 vs 0 "
        "(test/macro_f1)"]
    assert [finding.experiment for finding in r2] == [
        f"physio: {name} +P at 80% Se (one-vs-rest, DS2 test records), LSTM minus GRU" for name in "SV"]
    assert "2 S beats of 102" in r2[0].notes  # record 233's labelled beats
    assert [finding.experiment for finding in r4] == [
        "physio: GRU minus LSTM (test/macro_f1) trained on 50% of the DS1 training records",
        "physio: GRU's advantage at 50% of the DS1 training records minus at 100%"]
    for finding in r1 + r2 + r4:
        effect = finding.effect
        assert effect.n == 2 and all(math.isfinite(value) for value in (effect.low, effect.high)), finding
    metrics = tracker.client.get_run(r2[0].runs[-1]).data.metrics
    assert {"lstm.test_ppv_S_at_se_0.8", "gru.test_ppv_V_at_se_0.8"} <= set(metrics)

    with pytest.raises(ConfigError, match=r"R2 ecg_classes: \['Q'\] are not classes of the physio sweep"):
        RULES["R2"].run(context("R2"), recall=0.8, bins=15, tasks=["physio"], ecg_classes=["Q"])
    with pytest.raises(ConfigError,
                       match=r"R2 tasks: \['lm'\] have no R2 experiment; give some of \['fraud', 'physio'\]"):
        RULES["R2"].plan(recall=0.8, bins=15, tasks=["lm"], ecg_classes=["S"])
