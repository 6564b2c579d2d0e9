"""The handbook's baseline features: hand-computed values, the book's rolling semantics, no leakage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.fraud.features import FEATURE_NAMES, feature_names, transaction_features
from tasks.fraud.handbook import HandbookSource

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "fraud_handbook_slice.csv.gz"

# 2018-04-01 is a Sunday.
ROWS = [  # timestamp, card, terminal, amount, label
    ("2018-04-01 12:00:00", 1, 100, 10.0, 1),
    ("2018-04-02 06:30:00", 1, 200, 20.0, 0),
    ("2018-04-02 12:00:00", 2, 100, 30.0, 0),
    ("2018-04-03 12:00:00", 2, 100, 40.0, 0),
    ("2018-04-07 23:00:00", 1, 200, 50.0, 0),
    ("2018-04-08 12:00:00", 1, 100, 60.0, 0),
    ("2018-04-09 12:00:00", 2, 100, 70.0, 0),
    ("2018-04-10 12:00:00", 2, 100, 80.0, 0),
]

# per row: weekend, night, card (nb, avg) for 1 and 7 days, terminal (nb, risk) for 1 and 7 days
EXPECTED = {
    "is_weekend": [1, 0, 0, 0, 1, 1, 0, 0],
    "is_night": [0, 1, 0, 0, 0, 0, 0, 0],
    "card_nb_tx_1d": [1, 2, 1, 1, 1, 2, 1, 1],
    "card_avg_amount_1d": [10, 15, 30, 40, 50, 55, 70, 80],
    "card_nb_tx_7d": [1, 2, 1, 2, 3, 3, 2, 2],
    "card_avg_amount_7d": [10, 15, 30, 35, 80 / 3, 130 / 3, 55, 75],
    # delay 7: row 5 (04-08 12:00) looks at (03-31 12:00, 04-01 12:00] -> the fraud of row 0;
    # row 6 at (04-01 12:00, 04-02 12:00] (1 day) and (03-26 12:00, 04-02 12:00] (7 days); ...
    "terminal_nb_tx_1d": [0, 0, 0, 0, 0, 1, 1, 1],
    "terminal_risk_1d": [0, 0, 0, 0, 0, 1, 0, 0],
    "terminal_nb_tx_7d": [0, 0, 0, 0, 0, 1, 2, 3],
    "terminal_risk_7d": [0, 0, 0, 0, 0, 1, 0.5, 1 / 3],
}


def hand_frame() -> pd.DataFrame:
    """The hand-made table above, canonical columns."""
    frame = pd.DataFrame(ROWS, columns=["timestamp", "card_id", "terminal_id", "amount", "label"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"]).astype("datetime64[ns]")
    return frame


def test_names_follow_the_book_order() -> None:
    assert len(FEATURE_NAMES) == 15
    assert FEATURE_NAMES[:5] == ("amount", "is_weekend", "is_night", "card_nb_tx_1d", "card_avg_amount_1d")
    assert FEATURE_NAMES[-2:] == ("terminal_nb_tx_30d", "terminal_risk_30d")
    assert feature_names((2,)) == ["amount", "is_weekend", "is_night", "card_nb_tx_2d", "card_avg_amount_2d",
                                   "terminal_nb_tx_2d", "terminal_risk_2d"]


def test_hand_computed_values() -> None:
    frame = hand_frame()
    features = transaction_features(frame, windows=(1, 7), delay_days=7)
    assert list(features.columns) == feature_names((1, 7))
    assert (features.dtypes == np.float32).all()
    np.testing.assert_array_equal(features["amount"], frame["amount"].astype(np.float32))
    for name, values in EXPECTED.items():
        np.testing.assert_allclose(features[name], np.asarray(values, dtype=np.float32), rtol=1e-6, err_msg=name)


def test_row_order_and_index_are_kept() -> None:
    frame = hand_frame()
    frame.index = [f"tx{i}" for i in range(len(frame))]
    shuffled = frame.sample(frac=1.0, random_state=3)
    features = transaction_features(shuffled, windows=(1, 7), delay_days=7)
    assert list(features.index) == list(shuffled.index)
    expected = transaction_features(frame, windows=(1, 7), delay_days=7)
    pd.testing.assert_frame_equal(features.loc[frame.index], expected)


def test_shorter_delay_moves_the_terminal_window() -> None:
    features = transaction_features(hand_frame(), windows=(1,), delay_days=1)
    # row 2 (04-02 12:00) sees (03-31 12:00, 04-01 12:00]: the fraud of row 0 on the same terminal
    assert features["terminal_nb_tx_1d"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert features["terminal_risk_1d"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]


def test_labels_younger_than_the_delay_are_not_read() -> None:
    frame = hand_frame()
    base = transaction_features(frame, windows=(1, 7), delay_days=7)
    changed = frame.copy()
    # rows 4..7 are less than 7 days before row 7 (10 Apr 12:00); row 3 is exactly 7 days before
    changed.loc[[4, 5, 6, 7], "label"] = 1
    after = transaction_features(changed, windows=(1, 7), delay_days=7)
    pd.testing.assert_series_equal(after.loc[7], base.loc[7])


def test_no_feature_reads_the_future_on_real_data() -> None:
    frame = HandbookSource(path=str(FIXTURE)).load()
    cutoff = pd.Timestamp("2018-07-20 12:00:00")
    base = transaction_features(frame)
    changed = frame.copy()
    rng = np.random.default_rng(0)
    young = changed["timestamp"] > cutoff - pd.Timedelta(days=7)
    changed.loc[young, "label"] = rng.integers(0, 2, int(young.sum())).astype("int8")
    later = changed["timestamp"] > cutoff
    changed.loc[later, "amount"] = rng.uniform(0, 500, int(later.sum()))
    after = transaction_features(changed)
    known = frame["timestamp"] <= cutoff
    pd.testing.assert_frame_equal(after[known], base[known])
    assert not after[~known].equals(base[~known])


def _rolling(ordered: pd.DataFrame, key: str, column: str, days: int) -> tuple[pd.Series, pd.Series]:
    """pandas' time-based rolling count and sum per group, as the book computes them, in ``ordered``'s index."""
    grouped = ordered.set_index("timestamp").groupby(key)[column].rolling(f"{days}D")
    rows = ordered.index[np.argsort(ordered[key].to_numpy(), kind="stable")]  # groupby's row order
    count = pd.Series(grouped.count().to_numpy(), index=rows)
    total = pd.Series(grouped.sum().to_numpy(), index=rows)
    return count.loc[ordered.index], total.loc[ordered.index]


def book_reference(frame: pd.DataFrame, windows: tuple[int, ...], delay_days: int) -> pd.DataFrame:
    """The book's code path: pandas time-based rolling per card and per terminal (rows in time order)."""
    ordered = frame.sort_values("timestamp", kind="stable")
    out = pd.DataFrame(index=ordered.index)
    near_count, near_frauds = _rolling(ordered, "terminal_id", "label", delay_days)
    for w in windows:
        count, total = _rolling(ordered, "card_id", "amount", w)
        out[f"card_nb_tx_{w}d"], out[f"card_avg_amount_{w}d"] = count, total / count
    for w in windows:
        far_count, far_frauds = _rolling(ordered, "terminal_id", "label", delay_days + w)
        count = far_count - near_count
        out[f"terminal_nb_tx_{w}d"] = count
        out[f"terminal_risk_{w}d"] = ((far_frauds - near_frauds) / count).fillna(0.0)
    return out.loc[frame.index]


def test_matches_the_books_rolling_windows_on_real_data() -> None:
    frame = HandbookSource(path=str(FIXTURE)).load()
    features = transaction_features(frame, windows=(1, 7, 30), delay_days=7)
    reference = book_reference(frame, (1, 7, 30), 7)
    for name in reference.columns:
        np.testing.assert_allclose(features[name], reference[name].astype(np.float32), rtol=1e-6, err_msg=name)
    assert features["terminal_risk_30d"].max() > 0  # the fixture has frauds the windows see


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"delay_days": 0}, "delay_days"), ({"windows": (0, 7)}, "windows"), ({"windows": ()}, "windows"),
     ({"windows": (7, 7)}, "windows")],
)
def test_bad_arguments_name_the_argument(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        transaction_features(hand_frame(), **kwargs)


def test_missing_column_is_a_data_error() -> None:
    with pytest.raises(DataError, match="terminal_id"):
        transaction_features(hand_frame().drop(columns=["terminal_id"]))
