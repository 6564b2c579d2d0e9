"""The sweep's shape without training: a frozen ``Sweep``, the state ``open()`` returns, a group of repeats, and a
sweep rebuilt from its store."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from gatelab.errors import ConfigError, MissingResultsError
from gatelab.pipeline import REPEAT_SEED_OFFSET, Sweep, SweepGroup, stored_sweep
from gatelab.search.studies import PARENT_RUN_ATTR
from gatelab.tracking import tags as tag
from gatelab.training.experiment import load_experiment


def test_opening_returns_the_sweeps_state_and_a_second_open_resumes_it(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    sweep = Sweep(load_experiment("fraud", [tiny_config()]), store, progress=False)
    with pytest.raises(FrozenInstanceError):
        sweep.store = tmp_path  # type: ignore[misc]  # the point: nothing is set after construction
    assert sweep.parent_run() is None
    opened = sweep.open()
    assert opened.sweep is sweep and opened.context.experiment is sweep.experiment
    assert list(opened.studies) == sweep.cells == ["lstm", "gru"]
    assert {study.user_attrs[PARENT_RUN_ATTR] for study in opened.studies.values()} == {opened.parent}
    run = opened.tracker.client.get_run(opened.parent)
    assert run.data.tags[tag.SWEEP] == sweep.id and run.data.tags[tag.ROLE] == tag.ROLE_SWEEP
    assert opened.context.objective == "val/auprc" and opened.data_report
    assert sweep.open().parent == opened.parent == sweep.parent_run()  # resumed, not started again

    found = stored_sweep("fraud", store)
    assert isinstance(found, Sweep) and (found.id, found.cells) == (sweep.id, sweep.cells)
    assert found.progress and stored_sweep("fraud", store, progress=False).progress is False
    with pytest.raises(MissingResultsError, match="no sweep 'nothere'"):
        stored_sweep("fraud", store, "nothere")


def test_a_group_is_its_repeats_and_refuses_what_it_cannot_run(tiny_config) -> None:
    sweep = Sweep(load_experiment("fraud", [tiny_config()]), Path("unused"))
    group = SweepGroup(sweep, 2)
    assert [member.repeat for member in group.members] == [0, 1] and group.members[0] == sweep
    assert group.members[1].id == f"{sweep.id}-r1" and group.members[1].sampler_seed == REPEAT_SEED_OFFSET + 1
    assert (group.id, group.cells, group.budget) == (f"{sweep.id}x2", sweep.cells, sweep.budget)
    with pytest.raises(ConfigError, match="repeats=0: the search runs at least once"):
        SweepGroup(sweep, 0)
    far = Sweep(sweep.experiment.with_overrides({"seed": REPEAT_SEED_OFFSET}), Path("unused"))
    with pytest.raises(ConfigError, match=f"seed={REPEAT_SEED_OFFSET}: with repeats"):
        SweepGroup(far, 2)


def test_a_report_of_a_sweep_that_never_ran_says_so(tmp_path: Path, tiny_config) -> None:
    sweep = Sweep(load_experiment("fraud", [tiny_config()]), tmp_path / "mlruns", progress=False)
    with pytest.raises(MissingResultsError, match=f"sweep {sweep.id} of task 'fraud' has no run"):
        sweep.report()
    with pytest.raises(MissingResultsError, match=f"sweep {sweep.id}x2 of task 'fraud' has no run"):
        SweepGroup(sweep, 2).report()
