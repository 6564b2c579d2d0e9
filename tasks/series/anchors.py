"""Reference scores on the task's own split, computed here by kept libraries rather than copied from papers.

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

import numpy as np

__all__ = ["forecast_anchors", "nearest_neighbour_dtw"]


def nearest_neighbour_dtw(train: list[np.ndarray], train_labels: np.ndarray, test: list[np.ndarray],
                          test_labels: np.ndarray) -> float:
    """Test accuracy of 1-NN DTW; series are (time, channels) arrays, of equal or unequal lengths."""
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    def panel(series: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        channels_first = [values.T.astype(np.float64) for values in series]
        return np.stack(channels_first) if len({len(values) for values in series}) == 1 else channels_first

    classifier = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")
    classifier.fit(panel(train), np.asarray(train_labels))
    return float(np.mean(classifier.predict(panel(test)) == np.asarray(test_labels)))


def _errors(forecast: np.ndarray, actual: np.ndarray, scale: float) -> np.ndarray:
    error = np.abs(forecast - actual)
    return np.array([error.mean(), np.sqrt(np.square(error).mean()), error.mean() / scale])


def forecast_anchors(series: list[np.ndarray], horizon: int, season: int) -> dict[str, dict[str, float]]:
    """MAE, RMSE and MASE of the seasonal-naive and Holt-Winters forecasts of each univariate ``series``'
    last ``horizon`` steps, averaged over series (the MASE scale as in ``prepare.forecasting_splits``).

    Args:
        series: one target's values per series, each (time,), at least ``3 * horizon`` long.
        horizon: steps forecast.
        season: the seasonal period (1: no seasonality; the naive forecast repeats the last step).
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    totals = {"seasonal_naive": np.zeros(3), "holt_winters": np.zeros(3)}
    for values in series:
        history, actual = values[:-horizon].astype(np.float64), values[-horizon:].astype(np.float64)
        train = values[: len(values) - 2 * horizon]
        scale = float(np.abs(train[season:] - train[:-season]).mean()) or 1.0
        repeats = -(-horizon // season)
        naive = np.tile(history[-season:], repeats)[:horizon]
        seasonal = "add" if season > 1 and len(history) >= 2 * season else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels warns on convergence of its optimiser for short series
            model = ExponentialSmoothing(history, trend="add", seasonal=seasonal,
                                         seasonal_periods=season if seasonal else None).fit()
        totals["seasonal_naive"] += _errors(naive, actual, scale)
        totals["holt_winters"] += _errors(model.forecast(horizon), actual, scale)
    return {name: dict(zip(("mae", "rmse", "mase"), (total / len(series)).tolist())) for name, total in totals.items()}
