"""File dialects (separator, decimal mark, encoding) and value errors that name the first bad row."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.fraud.sources import ColumnMap, CsvSource

CASES = Path(__file__).parents[3] / "fixtures" / "cases"
SEMICOLON = CASES / "fraud_semicolon_decimal_comma.csv"
COLUMNS = ColumnMap(card="card_number", timestamp="tx_time", amount="tx_amount", terminal="merchant_id",
                    label="is_fraud")
HEADER = "card_id,timestamp,amount,terminal_id,label\n"


def load_rows(tmp_path: Path, rows: list[str], header: str = HEADER, **settings: object) -> pd.DataFrame:
    path = tmp_path / "transactions.csv"
    path.write_text(header + "".join(f"{row}\n" for row in rows))
    return CsvSource(path=str(path), **settings).load()


def test_semicolon_case_names_the_separator_not_the_mapping() -> None:
    with pytest.raises(DataError) as error:
        CsvSource(path=str(SEMICOLON), columns=COLUMNS).load()
    message = str(error.value)
    assert message.startswith(f"{SEMICOLON}: the header reads as one column 'card_number;tx_time;")
    assert "looks ';'-separated: set sep: ';' on the source" in message and "decimal: ','" in message
    assert "columns" not in message.split(";")[-1]


def test_semicolon_case_without_decimal_names_the_row_and_value() -> None:
    with pytest.raises(DataError, match=re.escape("column 'amount' (file column 'tx_amount') is not numeric "
                                                  "(line 2: '16,75', 4023 row(s) in all); if the file writes "
                                                  "decimals with a comma, set decimal: ','")):
        CsvSource(path=str(SEMICOLON), columns=COLUMNS, sep=";").load()


def test_semicolon_case_with_sep_and_decimal_reads_the_amounts() -> None:
    frame = CsvSource(path=str(SEMICOLON), columns=COLUMNS, sep=";", decimal=",").load()
    text = pd.read_csv(SEMICOLON, sep=";", dtype=str)["tx_amount"]
    expected = sorted(float(value.replace(",", ".")) for value in text)
    assert len(frame) == 4023 and sorted(frame["amount"].tolist()) == expected
    assert frame["amount"].iloc[0] == 16.75 and frame["card_id"].iloc[0] == 4000123400277165


def test_tab_separated_file(tmp_path: Path) -> None:
    """Own input: the case's transactions tab-separated, in latin-1, with text terminal ids."""
    raw = pd.read_csv(SEMICOLON, sep=";", decimal=",")
    raw["merchant_id"] = "café-" + raw["merchant_id"].astype(str)
    path = tmp_path / "tabs.tsv"
    raw.to_csv(path, sep="\t", index=False, encoding="latin-1")
    with pytest.raises(DataError, match=r"looks tab-separated: set sep: \"\\t\" on the source"):
        CsvSource(path=str(path), columns=COLUMNS).load()
    with pytest.raises(DataError, match=r"is not utf-8 text \(byte b'\\xe9' at offset \d+\); set encoding:"):
        CsvSource(path=str(path), columns=COLUMNS, sep="\t").load()
    frame = CsvSource(path=str(path), columns=COLUMNS, sep="\t", encoding="latin-1").load()
    assert len(frame) == 4023 and frame["terminal_id"].nunique() == raw["merchant_id"].nunique()
    assert sorted(frame["amount"].tolist()) == sorted(raw["tx_amount"].tolist())


@pytest.mark.parametrize(("separator", "named"), [("|", "'|'"), (",", "','")])
def test_other_separators_are_named(tmp_path: Path, separator: str, named: str) -> None:
    header = HEADER.replace(",", separator)
    with pytest.raises(DataError, match=f"looks {re.escape(named)}-separated"):
        load_rows(tmp_path, [separator.join(["1", "2024-03-01", "1", "1", "0"])], header=header,
                  sep=";" if separator == "," else ",")


@pytest.mark.parametrize(
    ("row", "message"),
    [("1,2024-03-02,-3.5,1,0", "column 'amount' must hold finite numbers >= 0 (line 3: -3.5, 2 row(s) in all)"),
     ("1,2024-03-02,inf,1,0", "column 'amount' must hold finite numbers >= 0 (line 3: inf, 2 row(s) in all)"),
     ("1,2024-03-02,12 EUR,1,0", "column 'amount' is not numeric (line 3: '12 EUR', 2 row(s) in all)"),
     ("1,2024-03-02,3,1,yes", "column 'label' must be 0 or 1 (line 3: 'yes', 2 row(s) in all)"),
     ("1,2024-03-02,3,,0", "column 'terminal_id' has missing values (line 3: nan, 2 row(s) in all)")],
)
def test_value_errors_name_the_first_bad_row_and_its_value(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        load_rows(tmp_path, ["1,2024-03-01,2,1,0", row, row])


def test_parquet_rows_are_counted_from_one(tmp_path: Path) -> None:
    path = tmp_path / "transactions.parquet"
    pd.DataFrame({"card_id": [1, 1], "timestamp": pd.to_datetime(["2024-03-01", "2024-03-02"]),
                  "amount": [1.0, -2.0], "terminal_id": [1, 1], "label": [0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=re.escape("(row 2: -2.0, 1 row(s) in all)")):
        CsvSource(path=str(path)).load()


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"sep": ";;"}, "sep"), ({"sep": ","}, None), ({"sep": ",", "decimal": ","}, None),
     ({"decimal": ",", "thousands": ","}, "thousands"), ({"thousands": "''"}, "thousands"),
     ({"encoding": "klingon"}, "encoding")],
)
def test_bad_dialect_settings_name_the_setting(settings: dict, field: str | None) -> None:
    if field is None:
        CsvSource(path="transactions.csv", **settings)
        return
    with pytest.raises(ConfigError, match=f"^{field}: "):
        CsvSource(path="transactions.csv", **settings)
