"""The series task's sources: tidy tables and .ts files read right, and each kind of bad input refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gatelab.errors import DataError

from tasks.series import ArchiveSource, LongTable, TsFiles
from tasks.series.prepare import classification_splits, forecasting_splits

TS_HEADER = "@problemName Toy\n@timeStamps false\n@missing false\n@univariate true\n@equalLength false\n" \
            "@classLabel true up down\n@data\n"


def _sensor_table(path: Path, steps: dict[str, int]) -> Path:
    """Two channels per step; series 'r*' rise (class up), 'f*' fall (class down), of the given lengths."""
    rows = []
    for series, count in steps.items():
        sign = 1.0 if series.startswith("r") else -1.0
        rows += [{"machine": series, "minute": minute, "temp": sign * minute + 20.0, "load": 0.5 * minute,
                  "state": "up" if sign > 0 else "down"} for minute in range(count)]
    pd.DataFrame(rows).to_csv(path, index=False, sep=";", decimal=",")
    return path


def _source(path: Path, **changes: object) -> LongTable:
    args = {"path": str(path), "time_column": "minute", "value_columns": ["temp", "load"], "id_column": "machine",
            "label_column": "state", "sep": ";", "decimal": ","}
    return LongTable(**{**args, **changes})  # type: ignore[arg-type]


def test_a_long_table_reads_one_padded_series_per_id_with_a_presence_flag(tmp_path: Path) -> None:
    lengths = {f"r{i}": 4 + i for i in range(6)} | {f"f{i}": 3 + i for i in range(6)}
    panel = _source(_sensor_table(tmp_path / "machines.csv", lengths)).read()
    assert sorted(panel.ids) == sorted(lengths)
    assert [len(values) for values in panel.values] == [lengths[i] for i in panel.ids]
    assert dict(zip(panel.ids, panel.labels)) == {i: "up" if i[0] == "r" else "down" for i in lengths}
    data = classification_splits(panel, val_share=0.25, test_share=0.34, seed=1)
    assert sum(data.counts.values()) == 12 and data.classes == ["down", "up"]
    longest = max(lengths.values())
    assert data.x["train"].shape[1:] == (longest, 3)
    presence = data.x["train"][:, :, -1]
    assert set(presence.sum(dim=1).tolist()) <= set(map(float, lengths.values()))
    assert bool((presence[:, -1] == 1).all())  # left padding: the last step is always real
    assert not set(data.rows["test"]) & set(data.rows["train"]) | set(data.rows["val"]) & set(data.rows["train"])


@pytest.mark.parametrize(("steps", "changes", "expected"), [
    ({"r0": 1, "f0": 4}, {}, "series 'r0' has 1 step"),
    ({"r0": 4, "f0": 4}, {"value_columns": ["temp", "pressure"]}, "no column 'pressure'"),
])
def test_a_bad_table_is_refused_naming_the_file_and_the_series(tmp_path: Path, steps: dict[str, int],
                                                               changes: dict[str, object], expected: str) -> None:
    path = _sensor_table(tmp_path / "m.csv", steps)
    with pytest.raises(DataError, match=expected) as refused:
        _source(path, **changes).read()
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_labels_per_step_gaps_and_mixed_intervals_are_refused(tmp_path: Path) -> None:
    path = _sensor_table(tmp_path / "m.csv", {"r0": 5, "f0": 5})
    frame = pd.read_csv(path, sep=";", decimal=",")
    frame.loc[2, "state"] = "down"
    frame.to_csv(tmp_path / "labels.csv", sep=";", decimal=",", index=False)
    with pytest.raises(DataError, match="series 'r0' has labels up, down .* one label per series"):
        _source(tmp_path / "labels.csv").read()
    frame = pd.read_csv(path, sep=";", decimal=",")
    frame.loc[7, "load"] = np.nan
    frame.to_csv(tmp_path / "gaps.csv", sep=";", decimal=",", index=False)
    with pytest.raises(DataError, match="column 'load' has 1 empty values \\(first on line 9\\)"):
        _source(tmp_path / "gaps.csv").read()
    frame = pd.read_csv(path, sep=";", decimal=",")
    frame.loc[frame.machine == "f0", "minute"] = [0, 1, 2, 4, 5]
    frame.to_csv(tmp_path / "mixed.csv", sep=";", decimal=",", index=False)
    with pytest.raises(DataError, match="series 'f0' mixes sampling intervals"):
        _source(tmp_path / "mixed.csv").read()


def test_a_ts_file_with_unequal_lengths_reads_and_an_unknown_header_field_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "toy.ts"
    good.write_text(TS_HEADER + "1,2,3,4:up\n4,3,2:down\n0.5,1.5,2.5,3.5,4.5:up\n")
    panel = TsFiles(str(good)).read()
    assert [len(values) for values in panel.values] == [4, 3, 5] and list(panel.labels) == ["up", "down", "up"]
    bad = tmp_path / "bad.ts"
    bad.write_text(TS_HEADER.replace("@data", "@samplingRate 100\n@data") + "1,2,3:up\n")
    with pytest.raises(DataError, match=r"bad.ts: line 7: unknown .ts header field '@samplingrate'"):
        TsFiles(str(bad)).read()


def test_the_archive_keeps_its_own_split_and_an_unknown_name_lists_the_shipped_ones() -> None:
    panel = ArchiveSource("BasicMotions").read()
    assert (panel.given_split == "train").sum() == 40 and (panel.given_split == "test").sum() == 40
    assert panel.values[0].shape == (100, 6)
    with pytest.raises(DataError, match="'Gunpoint' is not shipped with sktime; choose one of .*GunPoint"):
        ArchiveSource("Gunpoint").read()


def _demand(path: Path, months: int) -> Path:
    """Two shops' monthly demand: a level, a trend and a 6-month season."""
    stamps = pd.date_range("2020-01-01", periods=months, freq="MS")
    rows = [{"shop": shop, "month": stamp.strftime("%Y-%m"),
             "units": 100 * (shop + 1) + 2 * t + 10 * np.sin(t / 6 * 2 * np.pi)}
            for shop in range(2) for t, stamp in enumerate(stamps)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_forecast_windows_never_reach_into_validation_or_test_steps(tmp_path: Path) -> None:
    panel = LongTable(str(_demand(tmp_path / "d.csv", 40)), time_column="month", value_columns=["units"],
                      id_column="shop").read()
    data = forecasting_splits(panel, ["units"], context=8, horizon=4, season=6, scaling="global")
    assert data.counts == {"train": 2 * (40 - 8 - 3 * 4 + 1), "val": 2, "test": 2}
    assert data.x["train"].shape == (42, 8, 1) and data.y["test"].shape == (2, 4, 1)
    # shop 0's last training window ends at step 31, the step before its validation targets (32..35)
    training_mean = np.concatenate([values[:32, 0] for values in panel.values]).mean()
    last_target = data.y["train"][20, -1, 0] * data.extras["train"]["unit"][20, 0]
    assert float(last_target) == pytest.approx(float(panel.values[0][31, 0] - training_mean), rel=1e-4)
    with pytest.raises(DataError, match="series '0' has 40 steps; context 30 \\+ 3 x horizon 4 .* needs 42"):
        forecasting_splits(panel, ["units"], context=30, horizon=4, season=6, scaling="window")


def test_a_long_table_is_read_by_the_shared_reader_compressed_and_grouped(tmp_path: Path) -> None:
    import lzma

    text = "meter|day|kwh\n" + "".join(f"m{m}|{d}|1'{d}{m}0.5\n" for m in range(2) for d in range(3, 9))
    path = tmp_path / "meters.csv"  # xz inside, whatever the name says
    path.write_bytes(lzma.compress(text.encode()))
    source = LongTable(str(path), time_column="day", value_columns=["kwh"], id_column="meter", sep="|")
    with pytest.raises(DataError, match="column 'kwh' holds \"1'300.5\" .* set thousands: \"'\""):
        source.read()
    panel = LongTable(**{**source.__dict__, "thousands": "'"}).read()
    assert panel.values[1][:, 0].tolist() == [1000 + 100 * d + 10 + 0.5 for d in range(3, 9)]
    assert any("xz-compressed" in note for note in panel.notes)


def test_a_train_fraction_keeps_a_stratified_share_of_series_or_the_latest_windows(tmp_path: Path) -> None:
    lengths = {f"r{i}": 5 for i in range(8)} | {f"f{i}": 5 for i in range(8)}
    panel = _source(_sensor_table(tmp_path / "m.csv", lengths)).read()
    whole = classification_splits(panel, val_share=0.25, test_share=0.25, seed=0)
    half = classification_splits(panel, val_share=0.25, test_share=0.25, seed=0, train_fraction=0.5)
    assert (whole.counts["train"], half.counts["train"]) == (9, 4)  # of 16: 4 test, 3 validation
    assert sorted(half.y["train"].tolist()) == [0, 0, 1, 1] and half.counts["test"] == whole.counts["test"]
    series = LongTable(str(_demand(tmp_path / "d.csv", 40)), time_column="month", value_columns=["units"],
                       id_column="shop").read()
    latest = forecasting_splits(series, ["units"], context=8, horizon=4, season=6, scaling="window",
                                train_fraction=0.25)
    assert latest.counts["train"] == 2 * 5  # a quarter of each shop's 21 windows, rounded: the 5 before validation
