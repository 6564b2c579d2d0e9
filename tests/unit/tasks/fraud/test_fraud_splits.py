"""Time splits: validation of the fields, ordering without overlap, clear errors, known-compromised cards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import data_root
from gatelab.errors import ConfigError, DataError
from jsonargparse import ArgumentParser

from tasks.fraud.handbook import HandbookSource
from tasks.fraud.simulator import SimulatedSource
from tasks.fraud.splits import (
    HANDBOOK_SPLIT,
    PrequentialSplit,
    TimeSplit,
    check_split_labels,
    known_compromised,
    split_masks,
    split_ranges,
)

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


# Every split of the shipped fraud presets on the shipped data, recorded before PrequentialSplit was built on
# TimeSplit's checks: (preset, fold, split, first day, last day, rows, frauds, known-compromised rows removed, the
# first 16 hex digits of the sha256 of the rows' positions as int64).
PRESET_SPLITS = [
    ("default", "-", "train", "2018-05-08", "2018-05-21", 27_200, 318, 0, "e22dbe54e038b8bc"),
    ("default", "-", "val", "2018-05-29", "2018-06-04", 11_123, 53, 2_203, "b9ff9a56380085bd"),
    ("default", "-", "test", "2018-06-05", "2018-06-11", 10_997, 79, 2_668, "28df3c86ba3016df"),
    ("handbook", "-", "train", "2018-07-25", "2018-07-31", 67_240, 598, 0, "419cba0b5ad2d3d5"),
    ("handbook", "-", "val", "2018-08-01", "2018-08-07", 63_629, 512, 3_346, "30d6ab3bd553cb7b"),
    ("handbook", "-", "test", "2018-08-08", "2018-08-14", 58_264, 385, 8_816, "ae0b48a6f941c330"),
    ("handbook-prequential", "val0", "train", "2018-07-11", "2018-07-17", 66_928, 633, 0, "9688540467bc19c2"),
    ("handbook-prequential", "val0", "val", "2018-07-25", "2018-07-31", 58_505, 374, 8_735, "5acb2a467ebcf2bf"),
    ("handbook-prequential", "val1", "train", "2018-07-04", "2018-07-10", 66_954, 600, 0, "15c51eb82b210ef1"),
    ("handbook-prequential", "val1", "val", "2018-07-18", "2018-07-24", 57_931, 351, 8_893, "155fdafa168c2050"),
    ("handbook-prequential", "val2", "train", "2018-06-27", "2018-07-03", 67_574, 611, 0, "60a216b3e8453f64"),
    ("handbook-prequential", "val2", "val", "2018-07-11", "2018-07-17", 57_800, 411, 9_128, "8aa7118726832320"),
    ("handbook-prequential", "val3", "train", "2018-06-20", "2018-06-26", 66_864, 633, 0, "45da898c210e447a"),
    ("handbook-prequential", "val3", "val", "2018-07-04", "2018-07-10", 57_182, 416, 9_772, "2121119acea498ff"),
    ("handbook-prequential", "test0", "train", "2018-08-15", "2018-08-21", 67_049, 594, 0, "bfb3b593507ac0d3"),
    ("handbook-prequential", "test0", "val", "2018-08-22", "2018-08-28", 63_811, 490, 3_320, "879eab7bb7c2acbe"),
    ("handbook-prequential", "test0", "test", "2018-08-29", "2018-09-04", 57_604, 422, 9_066, "c1ed486c02b129e6"),
    ("handbook-prequential", "test1", "train", "2018-08-08", "2018-08-14", 67_080, 568, 0, "370242d074eb2db3"),
    ("handbook-prequential", "test1", "val", "2018-08-15", "2018-08-21", 64_021, 504, 3_028, "d7a7e6ae322eb5e7"),
    ("handbook-prequential", "test1", "test", "2018-08-22", "2018-08-28", 58_337, 408, 8_794, "f1783fd26faed4b3"),
    ("handbook-prequential", "test2", "train", "2018-08-01", "2018-08-07", 66_975, 626, 0, "cf1be7ee60bdd275"),
    ("handbook-prequential", "test2", "val", "2018-08-08", "2018-08-14", 63_750, 476, 3_330, "689ffda62d50c47e"),
    ("handbook-prequential", "test2", "test", "2018-08-15", "2018-08-21", 57_937, 387, 9_112, "b357659399883d08"),
    ("handbook-prequential", "test3", "train", "2018-07-25", "2018-07-31", 67_240, 598, 0, "419cba0b5ad2d3d5"),
    ("handbook-prequential", "test3", "val", "2018-08-01", "2018-08-07", 63_629, 512, 3_346, "30d6ab3bd553cb7b"),
    ("handbook-prequential", "test3", "test", "2018-08-08", "2018-08-14", 58_264, 385, 8_816, "ae0b48a6f941c330"),
]


def _preset(name: str) -> tuple[pd.DataFrame, dict[str, TimeSplit]]:
    """A shipped preset's data and split, as its YAML writes them: ``{"-": split}``, or each fold of a
    PrequentialSplit (``val0``.., ``test0``..); a preset without a source of its own reads the default's."""
    configs = Path(__file__).resolve().parents[4] / "configs"
    written = yaml.safe_load((configs / ("fraud.yaml" if name == "default" else f"fraud/{name}.yaml")).read_text())
    source = written["data"]["init_args"]["source"]
    frame = (SimulatedSource(**source["init_args"]) if source["class_path"].endswith("SimulatedSource")
             else HandbookSource()).load()
    split = written["data"]["init_args"]["split"]
    if "class_path" not in split:
        return frame, {"-": TimeSplit(**split)}
    folds = PrequentialSplit(**split["init_args"])
    return frame, {f"{'test' if test else 'val'}{k}": folds.fold(k, test=test) for test in (False, True)
                   for k in range(folds.folds)}


@pytest.mark.full_data
def test_shipped_presets_split_the_shipped_data_as_recorded() -> None:
    """The default preset (its simulated data) and the handbook presets (the book's file from GATELAB_DATA)."""
    data_root()
    found = []
    for preset in ("default", "handbook", "handbook-prequential"):
        frame, splits = _preset(preset)
        for fold, split in splits.items():
            masks = split_masks(frame, split)
            for name, counts in check_split_labels(frame, masks, split, preset).items():
                rows = hashlib.sha256(np.flatnonzero(masks[name]).astype(np.int64).tobytes()).hexdigest()[:16]
                found.append((preset, fold, name, counts.first, counts.last, counts.transactions, counts.frauds,
                              counts.removed, rows))
    assert found == PRESET_SPLITS
