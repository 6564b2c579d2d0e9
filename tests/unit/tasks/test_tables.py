"""Tabular sources: thousands marks and ambiguous numbers, row shapes, compression found by content."""

from __future__ import annotations

import bz2
import lzma
import re
import zipfile
from pathlib import Path

import pytest
from gatelab.errors import DataError

from tasks.fraud.sources import READ_NOTES, ColumnMap, CsvSource
from tasks.tables import Dialect, read_table

# other names and marks than the handed cases: a `balance` extra column, tab and pipe separators
COLUMNS = ColumnMap(card="client", timestamp="when", amount="paid", terminal="shop", label="fraud",
                    extra=("balance",))
HEADER = ["client", "when", "paid", "shop", "fraud", "balance"]


def write(tmp_path: Path, rows: list[list[str]], sep: str, name: str = "payments.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(sep.join(row) + "\n" for row in [HEADER, *rows]), encoding="utf-8")
    return path


def rows(balances: list[str], paid: list[str] | None = None) -> list[list[str]]:
    paid = paid or ["3"] * len(balances)
    return [[f"{7 + i % 2}", f"2023-11-0{1 + i} 10:00:00", amount, "12", "0", balance]
            for i, (amount, balance) in enumerate(zip(paid, balances))]


@pytest.mark.parametrize(
    ("sep", "decimal", "balances", "mark", "values"),
    [("\t", ",", ["3.150", "1.000.250,5", "40,25"], ".", [3150.0, 1000250.5, 40.25]),
     ("|", ".", ["12'400.75", "15", "1'000'000"], "'", [12400.75, 15.0, 1e6]),
     (";", ",", ["2 500,00", "17,5", "3"], " ", [2500.0, 17.5, 3.0])],
)
def test_grouped_numbers_are_refused_until_thousands_is_set(tmp_path: Path, sep: str, decimal: str,
                                                             balances: list[str], mark: str,
                                                             values: list[float]) -> None:
    path = write(tmp_path, rows(balances), sep)
    source = CsvSource(path=str(path), columns=COLUMNS, sep=sep, decimal=decimal)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=re.escape(f"column 'balance' holds {balances[0]!r} (line 2; ")
                       + r".*" + re.escape(f'set thousands: "{mark}" on the source')):
        source.load()
    frame = CsvSource(path=str(path), columns=COLUMNS, sep=sep, decimal=decimal, thousands=mark).load()  # type: ignore[arg-type]
    assert sorted(frame["balance"]) == sorted(values)


def test_grouped_comma_with_decimal_dot_offers_both_settings(tmp_path: Path) -> None:
    path = write(tmp_path, rows(["5", "6"], paid=['"1,250"', "4.5"]), ",")
    with pytest.raises(DataError, match=re.escape('set thousands: "," on the source, or decimal: ","')):
        CsvSource(path=str(path), columns=COLUMNS).load()


def test_quoted_decimal_commas_with_comma_separator_read_as_pandas(tmp_path: Path) -> None:
    path = write(tmp_path, rows(['"0,5"', '"-2,25"'], paid=['"7,05"', "9"]), ",")
    frame = CsvSource(path=str(path), columns=COLUMNS, sep=",", decimal=",").load()
    assert sorted(frame["amount"]) == [7.05, 9.0] and sorted(frame["balance"]) == [-2.25, 0.5]
    unquoted = write(tmp_path, rows(["0,5", "1"]), ",", name="unquoted.csv")
    with pytest.raises(DataError, match=re.escape("line 2: expected 6 fields as in the header, found 7 (1 row(s) in "
                                                  'all with another count); with decimal equal to sep, numbers')):
        CsvSource(path=str(unquoted), columns=COLUMNS, sep=",", decimal=",").load()


def test_trailing_delimiter_on_every_row_is_read_and_said(tmp_path: Path) -> None:
    path = tmp_path / "trailing.psv"
    path.write_text("|".join(HEADER) + "\n" + "".join("|".join(row) + "|\n" for row in rows(["1.5", "2"])))
    frame = CsvSource(path=str(path), columns=COLUMNS, sep="|").load()
    assert sorted(frame["balance"]) == [1.5, 2.0] and list(frame["amount"]) == [3.0, 3.0]
    assert frame.attrs[READ_NOTES] == (f"{path}: every data row ends with a trailing '|' (one field more than the "
                                       "header, always empty); that empty last field is ignored",)


def test_ragged_rows_name_the_first_line_and_the_counts(tmp_path: Path) -> None:
    good = rows(["1", "2", "3", "4"])
    path = write(tmp_path, [good[0], good[1][:-1], good[2], [*good[3], "x", "y"]], "\t")
    with pytest.raises(DataError, match=re.escape(f"{path}: line 3: expected 6 fields as in the header, found 5 "
                                                  "(2 row(s) in all with another count)")):
        CsvSource(path=str(path), columns=COLUMNS, sep="\t").load()


def test_compression_is_found_by_content_whatever_the_name(tmp_path: Path) -> None:
    plain = write(tmp_path, rows(["1", "2"]), ";").read_bytes()
    for name, data in [("a.csv", bz2.compress(plain)), ("b.txt.gz", lzma.compress(plain))]:
        (tmp_path / name).write_bytes(data)
        frame = CsvSource(path=str(tmp_path / name), columns=COLUMNS, sep=";").load()
        assert len(frame) == 2
    kind = frame.attrs[READ_NOTES][0]
    assert kind == f"{tmp_path / 'b.txt.gz'}: xz-compressed, read decompressed"
    with zipfile.ZipFile(tmp_path / "c.dat", "w") as archive:
        archive.writestr("inside.csv", plain)
    table = read_table(tmp_path / "c.dat", Dialect(sep=";"))
    assert table.notes == (f"{tmp_path / 'c.dat'}: zip-compressed (member 'inside.csv'), read decompressed",)


def test_damaged_archives_are_one_line(tmp_path: Path) -> None:
    plain = write(tmp_path, rows(["1", "2"] * 50), ";").read_bytes()
    damaged = bytearray(bz2.compress(plain))
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "damaged.csv").write_bytes(bytes(damaged))
    (tmp_path / "cut.csv").write_bytes(lzma.compress(plain)[:-30])
    with pytest.raises(DataError, match=r"damaged.csv: its bz2 data is damaged \(Invalid data stream\); replace"):
        CsvSource(path=str(tmp_path / "damaged.csv"), sep=";").load()
    with pytest.raises(DataError, match=r"cut.csv: its xz data is cut short \(it ends before its end-of-stream"):
        CsvSource(path=str(tmp_path / "cut.csv"), sep=";").load()
