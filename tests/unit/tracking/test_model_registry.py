"""A saved model serves any batch size, also when its input example was a view of a larger batch; its pyfunc (what
the scoring server runs) refuses values that are not finite numbers."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import torch
from conftest import FIXTURES
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.tracking.client import Tracker
from gatelab.tracking.model_registry import load_saved_model, save_model
from mlflow.exceptions import MlflowException

from tasks.lm import LanguageModelDataModule, PennTreebank


def test_a_model_saved_from_a_strided_example_serves_batches_of_any_size(tmp_path: Path) -> None:
    data = LanguageModelDataModule(PennTreebank(root=str(FIXTURES / "ptb_synthetic")), batch_size=4, bptt=10,
                                   eval_batch_size=2)
    module = data.make_module(ModelConfig(cell="gru", hidden_size=8), OptimConfig())
    windows = next(iter(data.test_dataloader()))["x"]
    assert not windows.is_contiguous()  # a window of the token streams: a view, as the selection saves it
    tracker = Tracker(tmp_path / "mlruns", "lm")
    run_id = tracker.start_run("saved", {})
    save_model(tracker, run_id, module, windows)

    model, example = load_saved_model(tracker, run_id)

    for batch in (example[:1], example[torch.arange(64) % len(example)]):
        assert model(batch).shape[0] == len(batch)


def test_a_model_saved_from_a_single_sequence_serves_other_batch_sizes(tmp_path: Path) -> None:
    """A test split of one sequence (one series forecast once) still exports a program with a free batch size."""
    from tasks.synthetic import RecallDataModule

    data = RecallDataModule(length=6, train_size=4, val_size=2, test_size=1, eval_batch_size=1)
    module = data.make_module(ModelConfig(cell="lstm", hidden_size=4), OptimConfig())
    one = next(iter(data.test_dataloader()))["x"]
    assert len(one) == 1
    tracker = Tracker(tmp_path / "mlruns", "synthetic")
    run_id = tracker.start_run("saved", {})
    save_model(tracker, run_id, module, one)

    model, _ = load_saved_model(tracker, run_id)

    assert model(one.repeat(5, 1, 1)).shape[0] == 5


def test_the_saved_models_pyfunc_refuses_values_that_are_not_finite_numbers_naming_where(tmp_path: Path) -> None:
    """What `mlflow models serve` runs (the pyfunc flavour): finite numbers score as the exported program does; a
    NaN, an infinity or a string is refused with MLflow's INVALID_PARAMETER_VALUE (HTTP 400), naming its place."""
    from tasks.synthetic import RecallDataModule

    data = RecallDataModule(length=5, train_size=4, val_size=3, test_size=3, eval_batch_size=3)
    module = data.make_module(ModelConfig(cell="gru", hidden_size=4), OptimConfig())
    sequences = next(iter(data.test_dataloader()))["x"]
    tracker = Tracker(tmp_path / "mlruns", "synthetic")
    run_id = tracker.start_run("saved", {})
    save_model(tracker, run_id, module, sequences)
    served = mlflow.pyfunc.load_model(f"{tracker.client.get_run(run_id).info.artifact_uri}/model")
    exported, _ = load_saved_model(tracker, run_id)

    posted = sequences.numpy().astype(object)
    scores = served.predict(posted)
    assert np.allclose(scores, exported(sequences).detach().numpy(), atol=1e-6)
    for value, shown in ((float("nan"), "is NaN"), (float("-inf"), "is -Infinity"), ("0.5", "is '0.5', not a number")):
        bad = posted.copy()
        bad[2, 1, 0] = value
        with pytest.raises(MlflowException) as refused:
            served.predict(bad)
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE" and refused.value.get_http_status_code() == 400
        assert f"inputs[2][1][0] (sequence 2, step 1, feature 0) {shown}" in refused.value.message
