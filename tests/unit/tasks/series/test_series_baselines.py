"""The series task's baselines (1-NN DTW; seasonal naive and Holt-Winters) scored like the cells, and two tiny real
sweeps whose verdicts compare the cells with them: a classification preset and a forecasting one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gatelab.pipeline import Sweep
from gatelab.report.sentences import verdict_sentence
from gatelab.tracking import tags as tag
from gatelab.training.experiment import load_experiment
from mlflow import MlflowClient

from tasks.series import ArchiveSource, LongTable, SeriesDataModule


def _fitted(data: SeriesDataModule) -> dict[str, dict[str, float]]:
    data.prepare_data()
    data.setup("fit")
    return {baseline.name: baseline.fit_and_test(0) for baseline in data.baselines()}


def test_the_seasonal_naive_baseline_is_exact_on_a_purely_seasonal_series(tmp_path: Path) -> None:
    pattern = np.array([3.0, 5.0, 4.0, 8.0])
    rows = [{"shop": shop, "week": week, "units": (shop + 1) * pattern[week % 4]} for shop in range(2)
            for week in range(40)]
    pd.DataFrame(rows).to_csv(tmp_path / "shops.csv", index=False)
    source = LongTable(str(tmp_path / "shops.csv"), time_column="week", value_columns=["units"], id_column="shop")
    scores = _fitted(SeriesDataModule(source, "forecasting", context=8, horizon=4, season=4))
    assert set(scores) == {"seasonal naive", "Holt-Winters"}
    assert set(scores["seasonal naive"]) == {"test/mae", "test/rmse", "test/mase"}  # the cells' test metrics
    assert scores["seasonal naive"]["test/mae"] == pytest.approx(0.0)
    assert 0.0 <= scores["Holt-Winters"]["test/mase"] < 0.05


def test_the_baselines_on_the_shipped_archive_series() -> None:
    airline = ArchiveSource("Airline")
    scores = _fitted(SeriesDataModule(airline, "forecasting", context=24, horizon=12, season=12))
    passengers = airline.read().values[0][:, 0].astype(np.float64)
    same_month = np.abs(passengers[-12:] - passengers[-24:-12])  # 1960 forecast by 1959
    assert scores["seasonal naive"]["test/mae"] == pytest.approx(same_month.mean(), rel=1e-5)
    training = passengers[:-24]
    scale = np.abs(training[12:] - training[:-12]).mean()  # the training steps' seasonal-naive error
    assert scores["seasonal naive"]["test/mase"] == pytest.approx(same_month.mean() / scale, rel=1e-5)
    assert scores["Holt-Winters"]["test/mase"] < scores["seasonal naive"]["test/mase"]
    motions = _fitted(SeriesDataModule(ArchiveSource("BasicMotions")))["1-NN DTW"]
    assert motions["test/accuracy"] == pytest.approx(39 / 40)  # the archive's 40 test series


@pytest.mark.parametrize(("preset", "best", "worse"), [("basic-motions", "1-NN DTW", -1.0),
                                                       ("airline", "Holt-Winters", 1.0)])
def test_a_tiny_series_sweep_compares_both_cells_with_its_best_baseline(tmp_path: Path, preset: str, best: str,
                                                                        worse: float) -> None:
    experiment = load_experiment("series", [preset], {"sweep.trials": 1, "trainer.max_epochs": 1})
    report = Sweep(experiment, tmp_path / "mlruns", progress=False, plots=False).run(seeds=2)
    assert report is not None
    verdict, decision = report.verdict, report.verdict.decision
    metric = decision.metric
    assert metric == ("test/accuracy" if preset == "basic-motions" else "test/mase")
    baselines = {baseline.name: baseline for baseline in verdict.baselines}
    assert set(baselines) == ({"1-NN DTW"} if preset == "basic-motions" else {"seasonal naive", "Holt-Winters"})
    assert [comparison.cell for comparison in decision.baseline_comparisons] == ["lstm", "gru"]
    cells = {cell.cell: cell for cell in verdict.cells}
    for comparison in decision.baseline_comparisons:
        assert comparison.baseline == best  # forecasting: the lower MASE, not the higher
        difference = np.mean(cells[comparison.cell].test[metric]) - np.mean(baselines[best].test[metric])
        assert comparison.paired.difference.mean == pytest.approx(difference)
        assert worse * difference > 0 and not comparison.beaten  # one epoch: below the baseline, in the metric's sense
    assert f"Neither cell beats {best} on this data: the baseline is " in verdict_sentence(verdict)
    quality = report.tables()[0]
    assert any(row[0] == f"{best} (baseline)" for row in quality[2])

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("gatelab-series").experiment_id], max_results=100)
    (parent,) = [run for run in runs if run.data.tags.get(tag.ROLE) == tag.ROLE_SWEEP]
    assert not any(key.startswith("data.anchor") for key in parent.data.params)  # the baselines' runs hold them
    fits = [run for run in runs if run.data.tags.get(tag.ROLE) == tag.ROLE_BASELINE]
    # none draws random numbers: each is fitted once, with the first seed, and that run stands for every seed
    assert sorted((run.data.tags[tag.BASELINE], run.data.tags[tag.SEED]) for run in fits) == sorted(
        (name, str(baselines[best].seeds[0])) for name in baselines)
    assert all(len(set(baseline.seed_runs)) == 1 < len(baseline.seeds) for baseline in baselines.values())
    assert {run.info.run_id for run in fits} == {run_id for found in baselines.values() for run_id in found.seed_runs}
    assert all(not client.list_artifacts(run.info.run_id) for run in fits)  # no model: nothing to register
    registered = {version.run_id for version in client.search_model_versions("name = 'gatelab-series'")}
    assert registered and not registered & {run.info.run_id for run in fits}
