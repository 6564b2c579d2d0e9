"""The metrics cardiology papers report on beat classification, and the confusion-matrix figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from torchmetrics import ClasswiseWrapper, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

__all__ = ["beat_metrics", "confusion_figure"]


def beat_metrics(classes: Sequence[str]) -> MetricCollection:
    """Macro-F1 over the classes present, accuracy, per-class sensitivity (``se_N`` ...) and positive
    predictivity (``ppv_N`` ...), and the confusion matrix (``confmat``, rows true, columns predicted).

    Macro-F1 averages the classes that occur in the targets or the predictions; a class with neither
    is left out rather than counted as 0. Compute groups are off: torchmetrics' state sharing does not
    reach the metric inside ``ClasswiseWrapper`` (it warns that it was never updated).
    """
    k, labels = len(classes), list(classes)
    return MetricCollection({
        "macro_f1": MulticlassF1Score(k, average="macro"),
        "accuracy": MulticlassAccuracy(k, average="micro"),
        "se": ClasswiseWrapper(MulticlassRecall(k, average=None), labels=labels, prefix="se_"),
        "ppv": ClasswiseWrapper(MulticlassPrecision(k, average=None), labels=labels, prefix="ppv_"),
        "confmat": MulticlassConfusionMatrix(k),
    }, compute_groups=False)


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str) -> Figure:
    """A confusion matrix as counts, shaded by the share of each true class, with Se and +P on the margins.

    Args:
        matrix: counts, rows the true class, columns the predicted class.
        classes: the class names in code order.
        title: the figure's title.
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.where(rows > 0, rows, 1)
    figure = Figure(figsize=(1.2 * len(classes) + 2.6, 1.1 * len(classes) + 1.8), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for (true, pred), count in np.ndenumerate(matrix):
        axes.text(pred, true, f"{count:,}", ha="center", va="center",
                  color="white" if share[true, pred] > 0.5 else "black", fontsize=9)
    diagonal = np.diag(matrix)
    columns = matrix.sum(axis=0)
    se = [f"{cls}\nSe {100 * d / n:.1f}" if n else f"{cls}\nSe -" for cls, d, n in zip(classes, diagonal, rows[:, 0])]
    ppv = [f"{cls}\n+P {100 * d / n:.1f}" if n else f"{cls}\n+P -" for cls, d, n in zip(classes, diagonal, columns)]
    axes.set_xticks(range(len(classes)), ppv)
    axes.set_yticks(range(len(classes)), se)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    return figure
