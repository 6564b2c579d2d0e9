"""MLflow's Model Registry: trained models saved as MLflow models, and the verdict's models registered.

Every selection run stores its model (``model`` artifact, MLflow's PyTorch flavour, with a
signature and an input example of real test sequences). The report registers the chosen cell's
model as a version of ``gatelab-<task>`` with the alias ``champion``, and the runner-up's as another
version tagged ``gatelab.role = runner-up``. Registering is idempotent: a run that already has a
version is not registered again. Only ``MlflowClient`` is used, never MLflow's fluent run API.
Models are saved as exported programs (``torch.export``, MLflow's ``pt2`` format): loading one
back needs torch and MLflow, not gatelab: ``mlflow.pytorch.load_model("models:/gatelab-fraud@champion")``. The
``python_function`` flavour (what ``mlflow models serve`` runs) loads through ``gatelab.tracking.scoring``,
which refuses NaN, infinite or non-numeric inputs with a 400 naming the sequence and feature.
"""

from __future__ import annotations

import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature, infer_signature
from mlflow.types import Schema, TensorSpec
from torch import Tensor, nn

from gatelab.tracking import scoring
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.training.module import TaskModule

__all__ = ["CHAMPION", "EXAMPLE_ROWS", "MODEL_ARTIFACT", "RUNNER_UP", "Scorer", "load_saved_model", "register",
           "registered_name", "save_model", "saved_example"]

MODEL_ARTIFACT = "model"
EXAMPLE_ROWS = 5
CHAMPION, RUNNER_UP = "champion", "runner-up"
_REQUIREMENTS = ("torch", "mlflow")


class Scorer(nn.Module):
    """What is served: a batch of sequences in, probabilities out.

    Args:
        module: the trained task module; its ``score(x)`` gives the probabilities.
    """

    def __init__(self, module: TaskModule) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        return self.module.score(x)


def registered_name(task: str) -> str:
    """The registered model of a task: ``gatelab-<task>``."""
    return f"gatelab-{task}"


def save_model(tracker: Tracker, run_id: str, module: TaskModule, example: Tensor) -> None:
    """Store ``module`` as the run's ``model`` artifact with its signature and ``example`` as input example."""
    scorer = Scorer(module).cpu().eval()
    example = example.cpu().contiguous()  # exported on a view, the program would guard on its strides
    if len(example) == 1:  # torch.export specialises a batch of one to size 1: the program would refuse other sizes
        example = example.repeat(2, *([1] * (example.dim() - 1)))
    with torch.inference_mode():
        output = scorer(example)
    # dtype object: the server hands every posted value to gatelab.tracking.scoring's check as it was sent
    signature = ModelSignature(Schema([TensorSpec(np.dtype(object), (-1, *example.shape[1:]))]),
                               infer_signature(example.numpy(), output.numpy()).outputs)
    requirements = [f"{name}=={version(name)}" for name in _REQUIREMENTS]
    import mlflow.pytorch  # here: importing it configures logging, which a plain sweep does not need

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        # torch.export notes that recurrent layers keep their weights in a plain list attribute: harmless here.
        warnings.filterwarnings("ignore", message=r".*were assigned during export.*")
        path = Path(folder) / MODEL_ARTIFACT
        mlflow.pytorch.save_model(scorer, str(path), signature=signature, input_example=example.numpy(),
                                  pip_requirements=requirements, serialization_format="pt2")
        saved = Model.load(str(path))
        saved.flavors["python_function"] |= {"loader_module": scoring.__name__,
                                             "model_config": {scoring.INPUT_DTYPE: str(example.numpy().dtype)}}
        saved.save(str(path / "MLmodel"))
        tracker.client.log_artifacts(run_id, str(path), MODEL_ARTIFACT)


def load_saved_model(tracker: Tracker, run_id: str) -> tuple[nn.Module, Tensor]:
    """The run's saved ``model`` as it is served (the exported program, on the CPU) and its input example.

    Returns:
        The model (a batch of sequences in, scores out) and the example sequences saved with it.
    """
    import mlflow.pytorch

    with tempfile.TemporaryDirectory() as folder:
        path = tracker.client.download_artifacts(run_id, MODEL_ARTIFACT, folder)
        model = mlflow.pytorch.load_model(path)
        example = torch.from_numpy(saved_example(path))
    return model, example


def saved_example(path: str) -> np.ndarray:
    """The input example of the saved model at ``path`` in the dtype its program takes (its signature says
    ``object``, for ``gatelab.tracking.scoring``)."""
    saved = Model.load(path)
    dtype = saved.flavors["python_function"].get("model_config", {}).get(scoring.INPUT_DTYPE)
    example = np.asarray(saved.load_input_example(path))
    return example.astype(dtype) if dtype else example


def register(tracker: Tracker, task: str, sweep: str, roles: dict[str, str]) -> dict[str, str]:
    """Register each role's run model (``{"champion": run_id, "runner-up": run_id}``); returns role -> version.

    The champion gets the alias ``champion``; every version is tagged with its role, cell and sweep.
    A run registered before keeps its version (re-running the report adds none).
    """
    client, name = tracker.client, registered_name(task)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=f"gatelab's chosen models for task '{task}'")
    versions = {}
    for role, run_id in roles.items():
        run = client.get_run(run_id)
        existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        if existing:
            number = existing[0].version
        else:
            source = f"{run.info.artifact_uri}/{MODEL_ARTIFACT}"
            number = client.create_model_version(name, source, run_id=run_id).version
        tags = {tag.ROLE: role, tag.SWEEP: sweep, tag.CELL: run.data.tags[tag.CELL], tag.SEED: run.data.tags[tag.SEED]}
        for key, value in tags.items():
            client.set_model_version_tag(name, number, key, value)
        versions[role] = str(number)
    client.set_registered_model_alias(name, CHAMPION, versions[CHAMPION])
    return versions
