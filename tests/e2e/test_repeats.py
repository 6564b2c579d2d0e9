"""`--repeats k`: the whole search k times with sampler seeds of their own, pooled in one verdict that `gatelab report`
makes again from the group's id; repeats below 1 refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from gatelab.pipeline import REPEAT_SEED_OFFSET, Sweep, SweepGroup, sweep_id
from gatelab.search.storage import open_store
from gatelab.selection import selection_seeds
from gatelab.training.experiment import load_experiment
from mlflow import MlflowClient
from workers_support import gatelab, studies


def finished(*args: str, cwd: Path) -> str:
    process = gatelab(*args, cwd=cwd)
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    return out


def test_repeats_below_one_are_refused_before_anything_is_written(tmp_path: Path, tiny_config) -> None:
    process = gatelab("sweep", "--task", "fraud", "--config", str(tiny_config()), "--store", str(tmp_path / "mlruns"),
                      "--repeats", "0", "--progress", "false", cwd=tmp_path)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2
    assert "gatelab: error: repeats=0: the search runs at least once; give REPEATS=1 or more" in err
    assert "Traceback" not in err and not (tmp_path / "mlruns").exists()


def test_one_repeat_is_the_sweep_itself(tiny_config) -> None:
    cfg = load_experiment("fraud", [str(tiny_config())])
    single = Sweep(cfg, Path("unused"))
    assert (single.id, single.sampler_seed, single.members) == (sweep_id(cfg), cfg.seed, [single])
    group = SweepGroup(single, repeats=3)
    assert group.id == f"{sweep_id(cfg)}x3"
    assert [member.id for member in group.members] == [sweep_id(cfg), f"{sweep_id(cfg)}-r1", f"{sweep_id(cfg)}-r2"]
    assert [member.sampler_seed for member in group.members] == [cfg.seed, REPEAT_SEED_OFFSET + 1,
                                                                  REPEAT_SEED_OFFSET + 2]


def test_two_repeats_pool_each_cells_best_configurations(tmp_path: Path, tiny_config) -> None:
    config, store = str(tiny_config(trials=2, epochs=1)), tmp_path / "mlruns"
    out = finished("sweep", "--task", "fraud", "--config", config, "--store", str(store), "--seeds", "2",
                   "--repeats", "2", "--progress", "false", cwd=tmp_path)
    base = sweep_id(load_experiment("fraud", [config]))
    group = f"{base}x2"
    assert f"gatelab: sweep {group} of task 'fraud'" in out and "pooled over 2 search repeats" in out

    searched = studies(open_store(None, store).storage)
    names = [f"fraud-{sweep}-{cell}" for sweep in (base, f"{base}-r1") for cell in ("lstm", "gru")]
    assert sorted(searched) == sorted(names)
    first = [trial.params for trial in searched[f"fraud-{base}-lstm"]]
    assert first != [trial.params for trial in searched[f"fraud-{base}-r1-lstm"]]  # other sampler seeds

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud").experiment_id
    runs = client.search_runs([experiment], max_results=200)
    parents = {run.data.tags["gatelab.sweep"]: run for run in runs if run.data.tags.get("gatelab.role") == "sweep"}
    assert sorted(parents) == sorted([base, f"{base}-r1", group])
    assert parents[group].data.tags["gatelab.repeats"] == "2"
    assert parents[f"{base}-r1"].data.tags["gatelab.repeat"] == "1" and "gatelab.repeat" not in parents[base].data.tags
    assert all(run.info.status == "FINISHED" for run in parents.values())
    report = json.loads(Path(client.download_artifacts(parents[group].info.run_id, "verdict.json",
                                                       str(tmp_path))).read_text())["verdict"]
    assert report["sweep"] == group and parents[group].data.tags["gatelab.verdict"] == report["choice"]
    assert report["comparisons"][0]["paired"]["difference"]["n"] == 4
    member_parents = [parents[base].info.run_id, parents[f"{base}-r1"].info.run_id]
    for cell in report["cells"]:
        assert cell["seeds"] == selection_seeds(0, 2) * 2  # (repeat, seed) pairs, the same for every cell
        owners = [client.get_run(run_id).data.tags["mlflow.parentRunId"] for run_id in cell["seed_runs"]]
        assert owners == [member_parents[0]] * 2 + [member_parents[1]] * 2
        assert all(len(values) == 4 for values in cell["test"].values())
        counted = sum(1 for name in (f"fraud-{base}-{cell['cell']}", f"fraud-{base}-r1-{cell['cell']}")
                      for trial in searched[name] if trial.state != optuna.trial.TrialState.FAIL)
        assert len(cell["budget"]["n"]) == counted - cell["budget_left_out"]

    again = finished("report", "--task", "fraud", "--sweep", group, "--seeds", "2", "--store", str(store), cwd=tmp_path)
    assert report["sentence"] in again  # read back: the same seeds' runs, the same timings
    after = client.search_runs([experiment], "tags.`gatelab.role` = 'selection'", max_results=200)
    assert len(after) == 8
