"""The series task's baselines: reference models fitted on the task's own split by kept libraries, not copied from
papers, and scored by the cells' metrics (``SeriesDataModule.baselines``).

Classification: 1-nearest-neighbour with the full-window DTW distance (aeon's ``KNeighborsTimeSeriesClassifier``),
fitted on the training and validation series and scored on the test series: the standard reference of the
UEA/UCR archive (Bagnall et al., "The UEA multivariate time series classification archive, 2018", arXiv:1811.00075;
Dau et al., "The UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6), 2019).
Forecasting: the seasonal-naive forecast and Holt-Winters exponential smoothing (statsmodels'
``ExponentialSmoothing``; Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., ch. 8),
each fitted on a series' steps before its test targets and scored like the cells (MAE, RMSE, MASE).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gatelab.training.baselines import Baseline
from torchmetrics import MetricCollection

__all__ = ["FORECASTERS", "NEAREST_NEIGHBOUR_DTW", "ForecastBaseline", "holt_winters", "nearest_neighbour_dtw",
           "seasonal_naive", "series_panel"]

#: The classification baseline's name in the report and on its runs.
NEAREST_NEIGHBOUR_DTW = "1-NN DTW"


def series_panel(series: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """(time, channels) series as aeon's panel: a (series, channels, time) float64 array where the lengths agree,
    else a list of (channels, time) arrays."""
    channels_first = [values.T.astype(np.float64) for values in series]
    return np.stack(channels_first) if len({len(values) for values in series}) == 1 else channels_first


def nearest_neighbour_dtw() -> Any:
    """An unfitted 1-NN classifier with the full-window DTW distance (draws no random numbers); it takes
    ``series_panel`` panels and has ``fit``, ``predict_proba`` (one-hot) and ``classes_``."""
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    return KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The last ``season`` steps of ``history`` (time,) repeated over ``horizon`` steps (season 1: the last step)."""
    return np.tile(history[-season:], -(-horizon // season))[:horizon]


def holt_winters(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The next ``horizon`` steps of ``history`` (time,) by Holt-Winters with an additive trend and, where
    ``season`` > 1 and ``history`` holds two seasons, an additive season (statsmodels' ``ExponentialSmoothing``,
    parameters by maximum likelihood)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if season > 1 and len(history) >= 2 * season else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on convergence of its optimiser for short series
        model = ExponentialSmoothing(history.astype(np.float64), trend="add", seasonal=seasonal,
                                     seasonal_periods=season if seasonal else None).fit()
    return np.asarray(model.forecast(horizon))


#: The forecasting baselines: name -> forecast of (history (time,), horizon, season) -> (horizon,).
FORECASTERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "seasonal naive": seasonal_naive, "Holt-Winters": holt_winters}


@dataclass(frozen=True)
class ForecastBaseline(Baseline):
    """A univariate forecast of every series' and target's test steps, scored by the task's forecast metrics.

    Args:
        name: the baseline's name.
        forecast: (history (time,), horizon, season) -> (horizon,) forecast, one of ``FORECASTERS``.
        histories: per series, its (time, targets) steps before its test targets, in the data's units.
        actual: (series, horizon, targets) test targets in the data's units.
        scale: (series, targets) each series' MASE denominator (the test split's ``scale``).
        season: the seasonal period.
        metrics: a fresh collection of the task's forecast metrics, fed ``(forecast, actual, unit=1, scale=)`` in
            the data's units, as the cells' test windows are.
    """

    name: str
    forecast: Callable[[np.ndarray, int, int], np.ndarray]
    histories: list[np.ndarray]
    actual: np.ndarray
    scale: torch.Tensor
    season: int
    metrics: Callable[[], MetricCollection]

    def ignores_seed(self) -> bool:
        return True  # seasonal naive and Holt-Winters draw no random numbers

    def fit_and_test(self, seed: int) -> dict[str, float]:
        horizon = self.actual.shape[1]
        forecasts = np.stack([np.stack([self.forecast(history[:, column], horizon, self.season)
                                        for column in range(history.shape[1])], axis=1)
                              for history in self.histories])
        metrics = self.metrics().clone(prefix="test/")
        metrics.update(torch.from_numpy(forecasts).float(), torch.from_numpy(self.actual).float(),
                       unit=torch.ones_like(self.scale), scale=self.scale)
        return {key: float(value) for key, value in metrics.compute().items()}
