"""Timestamps are never guessed: ISO 8601 as written, anything else by an explicit format, dayfirst or unit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.fraud.datamodule import FraudDataModule
from tasks.fraud.sources import ColumnMap, CsvSource
from tasks.fraud.splits import TimeSplit

CASES = Path(__file__).parents[3] / "fixtures" / "cases"
COLUMNS = ColumnMap(card="card_number", timestamp="tx_time", amount="tx_amount", terminal="merchant_id",
                    label="is_fraud")
HEADER = "card_id,timestamp,amount,terminal_id,label\n"


def iso_twin() -> pd.Series:
    """The true times of the dayfirst case: the same transactions, written in ISO 8601."""
    raw = pd.read_csv(CASES / "fraud_semicolon_decimal_comma.csv", sep=";", dtype={"tx_time": str})
    return pd.to_datetime(raw["tx_time"], format="%Y-%m-%d %H:%M:%S")


def load(tmp_path: Path, rows: list[str], **settings: object) -> pd.DataFrame:
    """Load a small CSV (canonical header) written from ``rows`` (``card,time,amount,terminal,label``)."""
    path = tmp_path / "transactions.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return CsvSource(path=str(path), **settings).load()


def test_dayfirst_case_is_refused_naming_column_row_and_options() -> None:
    source = CsvSource(path=str(CASES / "fraud_dayfirst_dates.csv"), columns=COLUMNS)
    with pytest.raises(DataError) as error:
        source.load()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{CASES / 'fraud_dayfirst_dates.csv'}: column 'tx_time' is not ISO 8601")
    assert "line 2: '01/03/2024 00:04:34'" in message
    assert "1 March 2024 with dayfirst: true, 3 January 2024 with dayfirst: false" in message
    assert "timestamp_format" in message and "dayfirst: true" in message


def test_dayfirst_true_keeps_every_true_date() -> None:
    frame = CsvSource(path=str(CASES / "fraud_dayfirst_dates.csv"), columns=COLUMNS, dayfirst=True).load()
    truth = iso_twin().sort_values(kind="stable").reset_index(drop=True)
    assert len(frame) == 4023
    assert frame["timestamp"].equals(truth.astype("datetime64[ns]").rename("timestamp"))
    assert frame["timestamp"].min() == pd.Timestamp("2024-03-01 00:04:34")
    assert frame["timestamp"].max() == pd.Timestamp("2024-04-09 23:34:29")


def test_dayfirst_false_on_day_first_rows_names_the_first_that_does_not_fit() -> None:
    source = CsvSource(path=str(CASES / "fraud_dayfirst_dates.csv"), columns=COLUMNS, dayfirst=False)
    with pytest.raises(DataError,
                       match=r"line \d+ '13/03/2024 [\d:]+' does not match '%m/%d/%Y %H:%M:%S'.*dayfirst: true"):
        source.load()


def test_us_file_with_a_timestamp_format(tmp_path: Path) -> None:
    """Own input: the case's transactions written month first with a 12-hour clock."""
    raw = pd.read_csv(CASES / "fraud_semicolon_decimal_comma.csv", sep=";", decimal=",")
    raw["tx_time"] = iso_twin().dt.strftime("%m/%d/%Y %I:%M:%S %p")
    path = tmp_path / "us.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"is not ISO 8601 \(line 2: '03/01/2024 12:04:34 AM'"):
        CsvSource(path=str(path), columns=COLUMNS).load()
    frame = CsvSource(path=str(path), columns=COLUMNS, timestamp_format="%m/%d/%Y %I:%M:%S %p").load()
    assert frame["timestamp"].sort_values().tolist() == iso_twin().sort_values().tolist()


def test_unambiguous_non_iso_rows_are_still_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not ISO 8601 \(line 2: '13/03/2024 10:00'\)"):
        load(tmp_path, ["1,13/03/2024 10:00,1,1,0", "1,25/03/2024 10:00,1,1,1"])


def test_iso_is_read_as_written_whatever_dayfirst_says(tmp_path: Path) -> None:
    frame = load(tmp_path, ["1,2024-03-01 10:00:00,1,1,0", "1,2024-03-02T11:30:00,1,1,1"], dayfirst=True)
    assert frame["timestamp"].tolist() == [pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2024-03-02 11:30")]
    assert str(frame["timestamp"].dtype) == "datetime64[ns]"


def test_one_layout_per_column(tmp_path: Path) -> None:
    with pytest.raises(DataError,
                       match=r"line 2 '2024-03-13 10:00' does not match '%d/%m/%Y %H:%M'.*line 3 '14/03/2024"):
        load(tmp_path, ["1,2024-03-13 10:00,1,1,0", "1,14/03/2024 10:00,1,1,1"], dayfirst=True)
    with pytest.raises(DataError, match=r"line 2 '03/13/2024 10:00' cannot be read day first \(dayfirst: true\)"):
        load(tmp_path, ["1,03/13/2024 10:00,1,1,0"], dayfirst=True)
    with pytest.raises(DataError, match=r"line 3 '2024-03-14' does not match timestamp_format '%d\.%m\.%Y'"):
        load(tmp_path, ["1,13.03.2024,1,1,0", "1,2024-03-14,1,1,1"], timestamp_format="%d.%m.%Y")


def test_daylight_saving_offsets_become_utc(tmp_path: Path) -> None:
    """Own input: Paris times across the October 2024 change, the repeated hour told apart by offset."""
    rows = ["1,2024-10-27 01:50:00+02:00,1,1,0", "1,2024-10-27 02:30:00+02:00,2,1,0",
            "1,2024-10-27 02:10:00+01:00,3,1,1", "1,2024-10-27 04:00:00+01:00,4,1,0"]
    frame = load(tmp_path, rows)
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["amount"].tolist() == [1.0, 2.0, 3.0, 4.0]  # 02:10+01:00 is after 02:30+02:00
    assert frame["timestamp"].dt.strftime("%H:%M").tolist() == ["23:50", "00:30", "01:10", "03:00"]
    paris = load(tmp_path, rows, timezone="Europe/Paris")
    assert str(paris["timestamp"].dtype) == "datetime64[ns, Europe/Paris]"
    assert paris["timestamp"].dt.tz_convert("UTC").equals(frame["timestamp"])


def test_timezone_names_the_zone_of_naive_times(tmp_path: Path) -> None:
    frame = load(tmp_path, ["1,2024-03-31 01:30:00,1,1,0", "1,2024-03-31 03:30:00,2,1,1"], timezone="Europe/Paris")
    assert (frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]) == pd.Timedelta(hours=1)  # the clocks went forward
    with pytest.raises(DataError, match=r"line 3 '2024-10-27 02:10:00' does not exist or exists twice in Europe/Paris"):
        load(tmp_path, ["1,2024-10-27 01:30:00,1,1,0", "1,2024-10-27 02:10:00,2,1,1"], timezone="Europe/Paris")


def test_rows_without_an_offset_among_rows_with_one(tmp_path: Path) -> None:
    rows = ["1,2024-10-27 02:30:00+02:00,1,1,0", "1,2024-10-27 04:10:00,2,1,1"]
    with pytest.raises(DataError, match=r"line 3 '2024-10-27 04:10:00' has no UTC offset while line 2 .* set timezone"):
        load(tmp_path, rows)
    frame = load(tmp_path, rows, timezone="Europe/Paris")
    assert frame["timestamp"].dt.tz_convert("UTC").dt.strftime("%H:%M").tolist() == ["00:30", "03:10"]


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 1000)])
def test_numeric_times_need_a_unit(tmp_path: Path, unit: str, scale: int) -> None:
    """Own input: times as numbers since 1970 (pandas alone would read them as nanoseconds, all in 1970)."""
    rows = [f"1,{1709251474 * scale},1,1,0", f"1,{1709255074 * scale},2,1,1"]
    with pytest.raises(DataError,
                       match=rf"holds numbers \(line 2: {1709251474 * scale}\), not date-times; set unit: {unit} "):
        load(tmp_path, rows)
    frame = load(tmp_path, rows, unit=unit)
    assert frame["timestamp"].tolist() == [pd.Timestamp("2024-03-01 00:04:34", tz="UTC"),
                                           pd.Timestamp("2024-03-01 01:04:34", tz="UTC")]


def test_numeric_times_with_the_wrong_unit_are_refused(tmp_path: Path) -> None:
    rows = ["1,1709251474,1,1,0", "1,1709255074,2,1,1"]
    with pytest.raises(DataError,
                       match=r"line 2 1709251474 reads as 1970-01-20 \S+ UTC with unit: ms, before any card"):
        load(tmp_path, rows, unit="ms")
    with pytest.raises(DataError, match=r"has numbers out of range for unit: s"):
        load(tmp_path, ["1,1709251474000000,1,1,0"], unit="s")


def test_unit_on_text_and_a_missing_time_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds text \(line 2: '2024-03-01'\), but unit: s"):
        load(tmp_path, ["1,2024-03-01,1,1,0"], unit="s")
    with pytest.raises(DataError, match=re.escape("column 'timestamp' has a missing timestamp (line 3)")):
        load(tmp_path, ["1,2024-03-01,1,1,0", "1,,1,1,0"])


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"timestamp_format": "%d/%m/%Y", "dayfirst": True}, "timestamp_format"),
     ({"timezone": "Mars/Olympus"}, "timezone"), ({"unit": "ns"}, "unit")],
)
def test_bad_timestamp_settings_name_the_setting(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        CsvSource(path="transactions.csv", **settings)


def test_a_bad_strftime_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"timestamp_format '%Q' is not a strftime format"):
        load(tmp_path, ["1,2024-03-01,1,1,0"], timestamp_format="%Q")


def test_case_with_paris_offsets_across_the_march_change_is_read_in_utc(tmp_path: Path) -> None:
    """Own input: the case's times as Paris wall-clock times with their offsets (+01:00, then +02:00 from 31 March)."""
    raw = pd.read_csv(CASES / "fraud_semicolon_decimal_comma.csv", sep=";", decimal=",")
    paris = iso_twin().dt.tz_localize("Europe/Paris", nonexistent="shift_forward")
    raw["tx_time"] = paris.map(lambda stamp: stamp.isoformat())
    assert raw["tx_time"].str.endswith("+01:00").any() and raw["tx_time"].str.endswith("+02:00").any()
    path = tmp_path / "paris.csv"
    raw.to_csv(path, index=False)
    data = FraudDataModule(source=CsvSource(path=str(path), columns=COLUMNS), history=5,
                           split=TimeSplit(warmup_days=5, train_days=14, delay_days=3, val_gap_days=3, val_days=7,
                                           test_gap_days=0, test_days=7))
    data.setup("fit")
    frame = data.source.load()
    assert frame["timestamp"].sort_values().tolist() == paris.dt.tz_convert("UTC").sort_values().tolist()
    assert data.data_report()["data.time_zone"] == "UTC"
