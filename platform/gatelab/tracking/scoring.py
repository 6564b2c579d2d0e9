"""What MLflow's scoring server runs for a saved model: its exported program behind a check of every posted value.

A saved model's ``python_function`` flavour loads through this module (``loader_module``), so ``mlflow models
serve`` (``gatelab serve``) answers a sequence holding NaN, an infinity or a string with HTTP 400 and a JSON
error naming the sequence, the step and the feature, and never answers NaN. The model's input signature has
the dtype ``object`` and the shape ``(-1, history, features)`` (``(-1, steps)`` of token ids for a language
model): MLflow checks the shape, and every value
reaches the check here as posted (a float32 signature would make NumPy's conversion fail first, naming no
position). ``mlflow.pytorch.load_model`` loads the exported program itself, unchecked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

__all__ = ["INPUT_DTYPE", "CheckedModel", "checked_inputs"]

#: The key of the pyfunc flavour's ``model_config`` naming the dtype the exported program takes.
INPUT_DTYPE = "input_dtype"


_NUMBERS = (int, float, np.integer, np.floating)
#: What each axis of the posted array is, by its number of dimensions.
_AXES = {2: ("sequence", "step"), 3: ("sequence", "step", "feature")}


def _position(index: int, shape: tuple[int, ...]) -> str:
    """``inputs[3][2][5] (sequence 3, step 2, feature 5)`` for the ``index``-th value of an array of ``shape``."""
    where = [int(axis) for axis in np.unravel_index(index, shape)]
    names = _AXES.get(len(shape), tuple(f"axis {axis}" for axis in range(len(shape))))
    return "inputs" + "".join(f"[{at}]" for at in where) + f" ({', '.join(f'{n} {at}' for n, at in zip(names, where))})"


def _refuse(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def checked_inputs(data: Any, dtype: str = "float32") -> np.ndarray:
    """The posted sequences (``(sequences, history, features)``, or ``(sequences, steps)`` of tokens) as ``dtype``.

    Raises:
        MlflowException: (``INVALID_PARAMETER_VALUE``, HTTP 400) a value that is not a number (a string, a
            boolean, null), not finite (NaN, Infinity, -Infinity) or, for integer inputs (tokens), not whole,
            naming the first such value's position and how many there are.
    """
    values = np.asarray(data, dtype=object)
    flat = values.reshape(-1)
    numeric = np.fromiter((isinstance(value, _NUMBERS) and not isinstance(value, bool) for value in flat), bool,
                          len(flat))
    if not numeric.all():
        first = int(np.argmin(numeric))
        raise _refuse(f"{_position(first, values.shape)} is {flat[first]!r}, not a number "
                      f"({int((~numeric).sum())} of {len(flat)} values in the request are not numbers); send numbers "
                      "only.")
    numbers = flat.astype(np.float64)
    finite = np.isfinite(numbers)
    if not finite.all():
        first = int(np.argmin(finite))
        shown = "NaN" if math.isnan(numbers[first]) else ("Infinity" if numbers[first] > 0 else "-Infinity")
        raise _refuse(f"{_position(first, values.shape)} is {shown} ({int((~finite).sum())} of {len(flat)} values in "
                      "the request are NaN or infinite); send finite numbers only.")
    if np.dtype(dtype).kind in "iu":
        whole = numbers == np.round(numbers)
        if not whole.all():
            first = int(np.argmin(whole))
            raise _refuse(f"{_position(first, values.shape)} is {numbers[first]!r}: the model takes whole numbers "
                          f"(token ids) there, as {dtype}.")
    return numbers.reshape(values.shape).astype(dtype)


class CheckedModel:
    """The pyfunc a saved model serves: ``checked_inputs``, then the exported program, then a check that every
    probability is finite (a finite but huge input can still overflow the model)."""

    def __init__(self, model: Any, dtype: str) -> None:
        self.model, self.dtype = model, dtype

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        scores = np.asarray(self.model.predict(checked_inputs(data, self.dtype)))
        finite = np.isfinite(scores.reshape(len(scores), -1)).all(axis=1)
        if not finite.all():
            first = int(np.argmin(finite))
            raise _refuse(f"inputs[{first}] (sequence {first}): the model's output is not finite for it "
                          f"({int((~finite).sum())} such sequences); its values are out of the range the model "
                          "was trained on.")
        return scores


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> CheckedModel:
    """MLflow's ``loader_module`` entry point: the pytorch flavour's pyfunc at ``path`` behind the checks;
    ``model_config["input_dtype"]`` is the dtype the exported program takes (``save_model`` records it)."""
    import mlflow.pytorch  # here: importing it configures logging, which a sweep saving models does not need

    dtype = (model_config or {}).get(INPUT_DTYPE, "float32")
    return CheckedModel(mlflow.pytorch._load_pyfunc(path, model_config), dtype)
