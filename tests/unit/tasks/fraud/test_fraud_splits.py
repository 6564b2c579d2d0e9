"""Time splits: validation of the fields, ordering without overlap, clear errors, known-compromised cards."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gatelab.errors import ConfigError, DataError
from jsonargparse import ArgumentParser

from tasks.fraud.handbook import HandbookSource
from tasks.fraud.splits import HANDBOOK_SPLIT, PrequentialSplit, TimeSplit, known_compromised, split_masks, split_ranges

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "fraud_handbook_slice.csv.gz"


def daily_frame(first: str = "2018-01-01", days: int = 120, cards: int = 3, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """One transaction per card per day at noon (none on the ``skip`` days), no fraud."""
    stamps = pd.date_range(first, periods=days, freq="D") + pd.Timedelta(hours=12)
    stamps = stamps[~stamps.normalize().isin(pd.to_datetime(list(skip)))]
    frame = pd.DataFrame(
        {
            "card_id": np.tile(np.arange(cards), len(stamps)),
            "timestamp": np.repeat(stamps.to_numpy(), cards),
            "amount": 1.0,
            "terminal_id": 0,
            "label": np.zeros(len(stamps) * cards, dtype=np.int8),
        }
    )
    return frame


@pytest.mark.parametrize(
    ("field", "value"),
    [("train_days", 0), ("val_days", 0), ("test_days", -1), ("warmup_days", -1), ("delay_days", -2),
     ("val_gap_days", -1), ("test_gap_days", -1), ("train_start", "2018-02-30"), ("train_start", "next week"),
     ("train_days", 1.5), ("train_days", True), ("remove_known_compromised", "yes")],
)
def test_bad_fields_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        TimeSplit(**{field: value})


def test_test_must_start_after_the_label_delay() -> None:
    with pytest.raises(ConfigError, match="delay_days"):
        TimeSplit(val_gap_days=0, val_days=3, test_gap_days=0, delay_days=7)
    TimeSplit(val_gap_days=0, val_days=3, test_gap_days=4, delay_days=7)  # 7 days: fine


def test_jsonargparse_builds_it_from_yaml_values() -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--split", type=TimeSplit)
    config = parser.parse_object({"split": {"train_start": "2018-07-25", "train_days": 7, "val_gap_days": 0}})
    split = parser.instantiate_classes(config).split
    assert split == TimeSplit(train_start="2018-07-25", train_days=7, val_gap_days=0)
    with pytest.raises(ConfigError, match="train_days"):
        parser.instantiate_classes(parser.parse_object({"split": {"train_days": 0}}))


SPLITS = [
    TimeSplit(),
    TimeSplit(warmup_days=0, train_days=1, val_gap_days=0, val_days=1, test_gap_days=6, test_days=1),
    TimeSplit(train_start="2018-03-01", train_days=20, delay_days=3, val_gap_days=3, val_days=10, test_gap_days=2),
    dataclasses.replace(HANDBOOK_SPLIT, train_start="2018-02-10"),
]


@pytest.mark.parametrize("split", SPLITS)
def test_splits_are_ordered_in_time_without_overlap(split: TimeSplit) -> None:
    frame = daily_frame()
    masks = split_masks(frame, split)
    assert set(masks) == {"train", "val", "test"}
    times = {name: frame["timestamp"][mask] for name, mask in masks.items()}
    assert times["train"].max() < times["val"].min()
    assert times["val"].max() < times["test"].min()
    assert not (masks["train"] & masks["val"]).any() and not (masks["val"] & masks["test"]).any()
    ranges = split_ranges(frame, split)
    for name, (first, last) in ranges.items():
        days = times[name].dt.strftime("%Y-%m-%d")
        assert days.min() == first and days.max() == last, name
    assert (pd.Timestamp(ranges["train"][1]) - pd.Timestamp(ranges["train"][0])).days == split.train_days - 1
    val_gap = (pd.Timestamp(ranges["val"][0]) - pd.Timestamp(ranges["train"][1])).days - 1
    test_gap = (pd.Timestamp(ranges["test"][0]) - pd.Timestamp(ranges["val"][1])).days - 1
    assert (val_gap, test_gap) == (split.val_gap_days, split.test_gap_days)


def test_default_start_is_first_day_plus_warmup() -> None:
    ranges = split_ranges(daily_frame(first="2018-01-01"), TimeSplit(warmup_days=10))
    assert ranges["train"] == ("2018-01-11", "2018-01-24")
    assert ranges["val"] == ("2018-02-01", "2018-02-07")
    assert ranges["test"] == ("2018-02-08", "2018-02-14")


def test_empty_split_names_split_dates_and_fix() -> None:
    skip = tuple(d.strftime("%Y-%m-%d") for d in pd.date_range("2018-02-01", "2018-02-07"))
    frame = daily_frame(skip=skip)
    with pytest.raises(DataError) as error:
        split_masks(frame, TimeSplit(warmup_days=10))
    message = str(error.value)
    assert "'val'" in message and "2018-02-01..2018-02-07" in message
    assert "2018-01-01..2018-04-30" in message and "train_start" in message


def test_split_past_the_data_is_an_error() -> None:
    expected = r"'val' asks for 2018-05-06\.\.2018-05-12 but the data covers 2018-01-01\.\.2018-04-30"
    with pytest.raises(DataError, match=expected):
        split_masks(daily_frame(), TimeSplit(train_start="2018-04-15"))


def test_too_little_history_is_an_error() -> None:
    with pytest.raises(DataError, match="warmup_days=37"):
        split_masks(daily_frame(), TimeSplit(train_start="2018-01-20"))
    split_masks(daily_frame(), TimeSplit(train_start="2018-01-20", warmup_days=19))


def test_known_compromised_cards_are_removed_from_evaluation_days() -> None:
    # days 0..6 from 2018-01-10; train = days 0-1, val = days 2-3, test = days 4-6; delay 2 days
    frame = daily_frame(first="2018-01-09", days=8, cards=4)
    day = (frame["timestamp"] - pd.Timestamp("2018-01-10")).dt.days

    def fraud(card: int, on_day: int) -> None:
        frame.loc[(frame["card_id"] == card) & (day == on_day), "label"] = 1

    fraud(0, 0)  # training fraud: known from day 0 + 2 + 1 = 3
    fraud(1, 2)  # validation fraud: known from day 5
    fraud(2, -1)  # fraud before train_start: never counted
    split = TimeSplit(train_start="2018-01-10", warmup_days=1, train_days=2, delay_days=2, val_gap_days=0,
                      val_days=2, test_gap_days=0, test_days=3)
    masks = split_masks(frame, split)
    kept = {name: sorted(zip(day[mask], frame["card_id"][mask])) for name, mask in masks.items()}
    assert kept["train"] == [(d, c) for d in (0, 1) for c in range(4)]
    assert kept["val"] == [(2, 0), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)]
    assert kept["test"] == [(4, 1), (4, 2), (4, 3), (5, 2), (5, 3), (6, 2), (6, 3)]
    unfiltered = split_masks(frame, dataclasses.replace(split, remove_known_compromised=False))
    assert unfiltered["test"].sum() == 12 and unfiltered["val"].sum() == 8
    known = known_compromised(frame, pd.Timestamp("2018-01-10").date(), 2)
    assert known[(frame["card_id"] == 0).to_numpy() & (day == 3).to_numpy()].all()
    assert not known[(frame["card_id"] == 0).to_numpy() & (day == 2).to_numpy()].any()


def test_handbook_preset_layout() -> None:
    frame = HandbookSource(path=str(FIXTURE)).load()
    assert split_ranges(frame, HANDBOOK_SPLIT) == {
        "train": ("2018-07-25", "2018-07-31"),
        "val": ("2018-08-01", "2018-08-07"),
        "test": ("2018-08-08", "2018-08-14"),
    }
    assert HANDBOOK_SPLIT.delay_days == 7
    masks = split_masks(frame, HANDBOOK_SPLIT)
    assert all(mask.any() for mask in masks.values())


def test_prequential_folds_are_the_handbooks_days() -> None:
    """Chapter 5's model_selection_wrapper with start_date_training 2018-07-25, delta_train = delta_delay =
    delta_assessment = 7, n_folds 4: validation folds train from 07-11 minus k weeks, test folds from 08-15 minus k
    weeks; each is scored 7 days after its training ends (test folds validate on those 7 gap days)."""
    split = PrequentialSplit(train_start="2018-07-25")
    day = dt.date.fromisoformat
    validation = [split.fold(k, test=False) for k in range(4)]
    assert [fold.blocks(day(fold.train_start)) for fold in validation] == [
        {"train": (day(f"2018-{a}"), day(f"2018-{b}")), "val": (day(f"2018-{c}"), day(f"2018-{e}"))}
        for a, b, c, e in [("07-11", "07-17", "07-25", "07-31"), ("07-04", "07-10", "07-18", "07-24"),
                           ("06-27", "07-03", "07-11", "07-17"), ("06-20", "06-26", "07-04", "07-10")]]
    test = [split.fold(k, test=True) for k in range(4)]
    assert [fold.blocks(day(fold.train_start)) for fold in test] == [
        {"train": (day(f"2018-{a}"), day(f"2018-{b}")), "val": (day(f"2018-{b}") + dt.timedelta(days=1),
                                                                day(f"2018-{c}") - dt.timedelta(days=1)),
         "test": (day(f"2018-{c}"), day(f"2018-{c}") + dt.timedelta(days=6))}
        for a, b, c in [("08-15", "08-21", "08-29"), ("08-08", "08-14", "08-22"), ("08-01", "08-07", "08-15"),
                        ("07-25", "07-31", "08-08")]]
    assert test[3] == dataclasses.replace(HANDBOOK_SPLIT, warmup_days=split.warmup_days)  # the baseline split
    with pytest.raises(ConfigError, match="fold: must be a whole number in 0..3"):
        split.fold(4, test=True)
