"""Degenerate splits are refused before training; duplicate transactions are dropped and counted, conflicting ones
refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gatelab.errors import DataError

from tasks.fraud.datamodule import FraudDataModule
from tasks.fraud.sources import ColumnMap, CsvSource
from tasks.fraud.splits import TimeSplit, check_split_labels, split_masks

CASES = Path(__file__).parents[3] / "fixtures" / "cases"
COLUMNS = ColumnMap(card="card_number", timestamp="tx_time", amount="tx_amount", terminal="merchant_id",
                    label="is_fraud")
# the split of the cases' YAML files: train 03-06..03-19, val 03-23..03-29, test 03-30..04-05
CASE_SPLIT = TimeSplit(warmup_days=5, train_days=14, delay_days=3, val_gap_days=3, val_days=7, test_gap_days=0,
                       test_days=7)


def good_transactions() -> pd.DataFrame:
    """The cases' transactions with a fraud in every split, as the file's columns (ISO times as text)."""
    return pd.read_csv(CASES / "fraud_semicolon_decimal_comma.csv", sep=";", decimal=",", dtype={"tx_time": str})


def module(path: Path, **settings: object) -> FraudDataModule:
    return FraudDataModule(source=CsvSource(path=str(path), columns=COLUMNS), split=CASE_SPLIT, history=5, **settings)


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_no_fraud_in_validation_is_refused_with_dates_counts_and_fix() -> None:
    path = CASES / "fraud_no_fraud_in_val.csv"
    with pytest.raises(DataError) as error:
        module(path).setup("fit")
    message = str(error.value)
    assert message.startswith(f"{path}: split 'val' (2024-03-23..2024-03-29) has no fraud: 334 transactions, 0 frauds, "
                              "after removing known-compromised cards;")
    assert "move it with val_gap_days, val_days or train_start" in message
    assert "(the nearest days with fraud: 2024-03-22 before it, 2024-03-30 after it), or use more data." in message


def test_moving_the_split_as_told_lets_it_run() -> None:
    moved = TimeSplit(warmup_days=5, train_days=14, delay_days=3, val_gap_days=2, val_days=8, test_gap_days=0,
                      test_days=7)
    data = FraudDataModule(source=CsvSource(path=str(CASES / "fraud_no_fraud_in_val.csv"), columns=COLUMNS),
                           split=moved, history=5)
    data.setup("fit")
    assert data.data_report()["data.val"].startswith("2024-03-22..2024-03-29: ")


def test_no_fraud_in_the_test_split_is_refused(tmp_path: Path) -> None:
    """Own input: the frauds of the test week relabelled genuine."""
    frame = good_transactions()
    day = frame["tx_time"].str.slice(0, 10)
    frame.loc[(day >= "2024-03-30") & (day <= "2024-04-05"), "is_fraud"] = 0
    with pytest.raises(DataError, match=r"split 'test' \(2024-03-30\.\.2024-04-05\) has no fraud: \d+ transactions, "
                                        r"0 frauds.*move it with test_gap_days, test_days or train_start"):
        module(write(frame, tmp_path / "no_test_fraud.csv")).setup("fit")


def test_a_split_of_frauds_only_is_refused() -> None:
    """Own input: every training transaction a fraud."""
    stamps = pd.date_range("2024-01-01 12:00", periods=40, freq="D")
    frame = pd.DataFrame({"card_id": 1, "timestamp": stamps, "amount": 1.0, "terminal_id": 1,
                          "label": np.where(stamps < pd.Timestamp("2024-01-20"), 1, 0).astype(np.int8)})
    frame.loc[[25, 35], "label"] = 1
    split = TimeSplit(warmup_days=5, train_days=10, delay_days=0, val_gap_days=0, val_days=10, test_gap_days=0,
                      test_days=10, remove_known_compromised=False)
    with pytest.raises(DataError, match=re.escape("toy: split 'train' (2024-01-06..2024-01-15) has no genuine "
                                                  "transaction: 10 transactions, 10 frauds; ")):
        check_split_labels(frame, split_masks(frame, split), split, "toy")


def test_exact_duplicates_are_dropped_and_counted(tmp_path: Path) -> None:
    """Own input: five transactions written twice (a file appended to twice)."""
    frame = good_transactions()
    path = write(pd.concat([frame, frame.iloc[100:105]], ignore_index=True), tmp_path / "repeats.csv")
    dropped = module(path)
    dropped.setup("fit")
    report = dropped.data_report()
    assert report["data.transactions"] == 4023
    assert report["data.duplicate_transactions"] == 5 and report["data.dropped_duplicates"] == 5
    kept = module(path, drop_duplicates=False)
    kept.setup("fit")
    assert kept.data_report()["data.transactions"] == 4028 and kept.data_report()["data.dropped_duplicates"] == 0
    assert kept.fingerprint() != dropped.fingerprint()


def test_the_same_transaction_with_two_labels_is_refused(tmp_path: Path) -> None:
    """Own input: a transaction repeated at the end of the file with the other label."""
    frame = good_transactions()
    flipped = frame.iloc[[7]].assign(is_fraud=1 - frame["is_fraud"].iloc[7])
    path = write(pd.concat([frame, flipped], ignore_index=True), tmp_path / "conflict.csv")
    row = frame.iloc[7]
    expected = (f"{path}: line 9 (label {row['is_fraud']}), line 4025 (label {1 - row['is_fraud']}) are the same "
                f"transaction (card {row['card_number']}, time {row['tx_time']}, amount {row['tx_amount']}, terminal "
                f"{row['merchant_id']}) with different labels (1 such transaction(s) in all); keep the row with the "
                "right label and remove the others.")
    with pytest.raises(DataError, match=f"^{re.escape(expected)}$"):
        module(path, drop_duplicates=False).setup("fit")


def test_data_report_says_what_loading_did() -> None:
    data = FraudDataModule(source=CsvSource(path=str(CASES / "fraud_dayfirst_dates.csv"), columns=COLUMNS,
                                            dayfirst=True),
                           split=CASE_SPLIT, history=5)
    data.setup("fit")
    report = data.data_report()
    assert all(key.startswith("data.") for key in report)
    assert report == {
        "data.read": "as written",
        "data.transactions": 4023, "data.duplicate_transactions": 0, "data.dropped_duplicates": 0,
        "data.time_zone": "none (times as written)",
        "data.train": "2024-03-06..2024-03-19: 1429 transactions, 28 frauds",
        "data.val": "2024-03-23..2024-03-29: 313 transactions, 6 frauds", "data.val_known_compromised_removed": 409,
        "data.test": "2024-03-30..2024-04-05: 233 transactions, 3 frauds", "data.test_known_compromised_removed": 484,
    }
