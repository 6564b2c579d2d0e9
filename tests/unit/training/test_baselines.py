"""Baselines on the fixtures: the features they see, their fits scored by the cells' own metrics, their runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gatelab.baselines import fit_baselines
from gatelab.search.context import SweepContext
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.training.baselines import EstimatorBaseline, seeded
from gatelab.training.experiment import load_experiment
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tasks.fraud import FraudDataModule, HandbookSource
from tasks.fraud.splits import HANDBOOK_SPLIT
from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing
from tasks.physio.baselines import linear_discriminant
from tasks.physio.preprocess import morphology_samples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TINY_ECG = PatientSplit(train_records=(114, 200, 208, 232), val_records=(200,), test_records=(210, 233))
TINY_FRAUD = """
data:
  init_args:
    source:
      class_path: tasks.fraud.SimulatedSource
      init_args: {n_customers: 150, n_terminals: 300, n_days: 52, seed: 1}
    split: {warmup_days: 31, train_days: 7, delay_days: 7, val_days: 3, test_days: 3}
    history: 4
    top_k: 10
"""


@pytest.fixture(scope="module")
def fraud() -> FraudDataModule:
    data = FraudDataModule(source=HandbookSource(path=str(FIXTURES / "fraud_handbook_slice.csv.gz")),
                           split=HANDBOOK_SPLIT, history=5, top_k=10)
    data.prepare_data()
    data.setup("fit")
    return data


def test_fraud_baselines_see_the_last_step_and_score_like_the_cells(fraud: FraudDataModule) -> None:
    baselines = fraud.baselines()
    assert [baseline.name for baseline in baselines] == ["logistic regression", "gradient-boosted trees"]
    test, logistic = fraud.prepared.tensors["test"], baselines[0]
    assert isinstance(logistic, EstimatorBaseline)
    seen = logistic.split("test")
    assert np.array_equal(seen.features, test["x"][:, -1].numpy()) and np.array_equal(seen.target, test["y"].numpy())
    assert set(seen.extras) == {"card", "day"}  # what the cells' batches hand their card precision@k

    metrics = logistic.fit_and_test(7)
    assert set(metrics) == {"test/auprc", "test/auroc", "test/card_precision_at_10"}
    train = fraud.prepared.tensors["train"]
    model = LogisticRegression(max_iter=1000).fit(train["x"][:, -1].numpy(), train["y"].numpy())
    scores = model.predict_proba(seen.features)[:, 1]
    assert metrics["test/auprc"] == pytest.approx(average_precision_score(seen.target, scores), abs=1e-5)
    assert metrics["test/auroc"] == pytest.approx(roc_auc_score(seen.target, scores), abs=1e-5)


def test_the_seed_reaches_the_estimators_that_draw_random_numbers(fraud: FraudDataModule) -> None:
    assert seeded(HistGradientBoostingClassifier(), 3).random_state == 3
    assert seeded(make_pipeline(StandardScaler(), LogisticRegression(solver="saga")), 4)[-1].random_state == 4
    kept = LogisticRegression(C=0.5)
    assert seeded(kept, 5).get_params()["C"] == 0.5 and kept.random_state is None  # a copy; the original unfitted
    trees = fraud.baselines()[1]
    again = trees.fit_and_test(11)
    assert trees.fit_and_test(11) == again  # the same seed, the same fit


def test_morphology_samples_lie_in_de_chazals_windows() -> None:
    cfg = Preprocessing(downsample=4)  # 0.25 s before, 0.45 s after the R peak, 90 Hz
    before, after = cfg.window(cfg.sampling_rate_hz)
    times = (np.arange(0, before + after, cfg.downsample) - before) / cfg.sampling_rate_hz
    wave = np.stack([times, -2 * times], axis=1)[None].repeat(3, axis=0)  # 3 beats, 2 leads: the time itself
    samples = morphology_samples(wave.astype(np.float32), cfg)
    assert samples.shape == (3, 2 * 19)
    qrs, t_wave = np.linspace(-0.05, 0.10, 10), np.linspace(0.15, 0.50, 9).clip(max=times[-1])
    assert samples[0, :10] == pytest.approx(qrs, abs=1e-6) and samples[0, 10:19] == pytest.approx(t_wave, abs=1e-6)
    assert samples[2, 19:] == pytest.approx(-2 * np.concatenate([qrs, t_wave]), abs=1e-6)


def test_the_ecg_discriminant_scores_macro_f1_as_the_cells_do(tmp_path: Path) -> None:
    data = PhysioDataModule(path=str(FIXTURES / "mitdb"), split=TINY_ECG, preprocess=Preprocessing(downsample=3),
                            cache_dir=str(tmp_path / "cache"), rr_features=False)
    data.prepare_data()
    data.setup("fit")
    (baseline,) = data.baselines()
    assert isinstance(baseline, EstimatorBaseline)
    train, test = baseline.split("train"), baseline.split("test")
    assert train.features.shape[1] == 7 + 19  # every RR feature (whatever the cells get) and one lead's morphology
    metrics = baseline.fit_and_test(0)
    assert {"test/macro_f1", "test/accuracy", "test/se_S", "test/ppv_V"} <= set(metrics)
    assert not any("confmat" in key for key in metrics)
    predicted = linear_discriminant(4).fit(train.features, train.target).predict(test.features)
    present = sorted(set(test.target) | set(predicted))  # macro-F1 over the classes present, as the cells'
    assert metrics["test/macro_f1"] == pytest.approx(f1_score(test.target, predicted, labels=present,
                                                              average="macro"), abs=1e-5)
    assert metrics["test/accuracy"] == pytest.approx(float(np.mean(predicted == test.target)), abs=1e-6)


def test_fits_are_runs_of_their_own_and_read_back(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_FRAUD)
    experiment = load_experiment("fraud", [str(config)])
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    parent = tracker.start_run("sweep-test", {tag.ROLE: tag.ROLE_SWEEP})
    context = SweepContext(experiment, "test", tracker, parent, "fp", "val/auprc", "maximize", False)
    results = fit_baselines(context, parent, [10000, 10001, 10000])  # a seed again: a second search repeat's
    assert [result.name for result in results] == ["logistic regression", "gradient-boosted trees"]
    for result in results:
        assert result.seeds == [10000, 10001, 10000] and result.seed_runs[0] == result.seed_runs[2]
        assert len(result.test["test/auprc"]) == 3 and "test/auprc" in result.intervals
    runs = tracker.children(parent)
    assert len(runs) == 4 and all(run.info.status == "FINISHED" for run in runs)
    assert {(run.data.tags[tag.BASELINE], run.data.tags[tag.SEED]) for run in runs} == {
        (name, seed) for name in ("logistic regression", "gradient-boosted trees") for seed in ("10000", "10001")}
    assert all(run.data.tags[tag.ROLE] == tag.ROLE_BASELINE and run.data.tags[tag.CELL] == "-" for run in runs)
    assert all({"test/auprc", "fit_seconds"} <= set(run.data.metrics) for run in runs)
    assert all(run.data.params["seed"] == run.data.tags[tag.SEED] and "data.init_args.history" in run.data.params
               for run in runs)
    again = fit_baselines(context, parent, [10000, 10001])  # a report made again reads them back
    assert len(tracker.children(parent)) == 4
    assert again[1].test["test/auprc"] == results[1].test["test/auprc"][:2]


def test_a_baseline_that_draws_no_random_numbers_is_fitted_once_for_every_seed(tmp_path: Path) -> None:
    """The ECG discriminant (LDA: no ``random_state``) against logistic regression (one): one run stands for all."""
    config = tmp_path / "tiny.yaml"
    config.write_text(f"""
data:
  init_args:
    path: {FIXTURES / "mitdb"}
    cache_dir: {tmp_path / "cache"}
    preprocess: {{downsample: 3}}
    split: {{train_records: [114, 200, 208, 232], val_records: [200], test_records: [210, 233]}}
""")
    experiment = load_experiment("physio", [str(config)])
    tracker = Tracker(tmp_path / "mlruns", "physio")
    parent = tracker.start_run("sweep-test", {tag.ROLE: tag.ROLE_SWEEP})
    context = SweepContext(experiment, "test", tracker, parent, "fp", "val/macro_f1", "maximize", False)
    (result,) = fit_baselines(context, parent, [10000, 10001, 10002])
    assert result.seeds == [10000, 10001, 10002] and len(set(result.seed_runs)) == 1
    assert len(set(result.test["test/macro_f1"])) == 1
    (run,) = tracker.children(parent)
    assert run.data.tags[tag.SEED] == "10000" and run.info.status == "FINISHED"
    assert fit_baselines(context, parent, [10000, 10001])[0].seed_runs == [run.info.run_id] * 2  # read back
    assert len(tracker.children(parent)) == 1
    assert not EstimatorBaseline("lr", LogisticRegression(), lambda name: None, dict, 1).ignores_seed()
