"""The handbook source: loading, file checks, the safe rebuild from pickles, and the book's counts on full data."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import shutil
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import data_root
from gatelab.errors import DataError
from gatelab.files import file_sha256

import tasks.fraud.handbook as handbook
from tasks.fraud.features import FEATURE_NAMES, transaction_features
from tasks.fraud.handbook import (
    FILENAME,
    SHA256,
    HandbookSource,
    RestrictedUnpickler,
    default_path,
    download_handbook,
    read_manifest,
    unpickle_frame,
    write_atomic,
)
from tasks.fraud.splits import HANDBOOK_SPLIT, split_masks

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "fraud_handbook_slice.csv.gz"


# ------------------------------------------------------------------------------------------ loading


def test_fixture_loads_as_a_canonical_table() -> None:
    source = HandbookSource(path=str(FIXTURE))
    frame = source.load()
    assert list(frame.columns) == ["card_id", "timestamp", "amount", "terminal_id", "label", "scenario"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns]" and frame["label"].dtype == np.int8
    assert len(frame) == 22_279 and int(frame["label"].sum()) == 214 and frame["card_id"].nunique() == 150
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["timestamp"].min() == pd.Timestamp("2018-06-15 00:03:03")
    assert ((frame["scenario"] > 0) == (frame["label"] == 1)).all()
    assert source.fingerprint() == file_sha256(FIXTURE)


def test_missing_file_names_path_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv.gz"
    with pytest.raises(DataError, match=r"nowhere\.csv\.gz.*GATELAB_DATA"):
        HandbookSource(path=str(missing)).load()


def test_default_file_under_gatelab_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATELAB_DATA", str(tmp_path))
    expected = tmp_path / "fraud" / FILENAME
    assert HandbookSource().file() == expected
    with pytest.raises(DataError, match=str(expected)):
        HandbookSource().load()  # missing there: an error, never a download
    assert HandbookSource().fingerprint() == SHA256


def test_wrong_file_at_default_place_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATELAB_DATA", str(tmp_path))
    (tmp_path / "fraud").mkdir()
    shutil.copy(FIXTURE, tmp_path / "fraud" / FILENAME)
    with pytest.raises(DataError, match="sha256"):
        HandbookSource().load()


def test_cache_is_used_and_filled_when_gatelab_data_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATELAB_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cached = tmp_path / ".cache" / "gatelab" / "fraud" / FILENAME
    assert default_path() == cached
    calls = []

    def fake_download(dest: Path) -> Path:
        calls.append(dest)
        return write_atomic(b"x", dest)

    monkeypatch.setattr(handbook, "download_handbook", fake_download)
    assert HandbookSource().prepare() == cached and calls == [cached]
    assert HandbookSource().prepare() == cached and len(calls) == 1  # there now: no second download


def test_unreadable_and_incomplete_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="junk"):
        HandbookSource(path=str(junk)).load()
    partial = tmp_path / "partial.csv"
    partial.write_text("TX_DATETIME,CUSTOMER_ID,TX_AMOUNT\n2018-04-01 00:00:31,1,2.5\n")
    with pytest.raises(DataError, match="TERMINAL_ID"):
        HandbookSource(path=str(partial)).load()


# ----------------------------------------------------------------------------- rebuild from pickles


def test_manifest_lists_the_183_daily_pickles() -> None:
    entries = read_manifest()
    assert len(entries) == 183
    assert entries[0].path == "data/2018-04-01.pkl" and entries[-1].path == "data/2018-09-30.pkl"
    assert sum(entry.size for entry in entries) == 107_121_710
    assert entries[0].url == ("https://raw.githubusercontent.com/Fraud-Detection-Handbook/simulated-data-raw/"
                              "6e67dbd0a3bfe0d7ec33abc4bce5f37cd4ff0d6a/data/2018-04-01.pkl")
    assert entries[0].sha256 == "6bb3398e858be68532e22522ed8dd52601fe507b6537f6bc2dde0abcdd3e4717"


def test_malformed_manifest_line_is_named(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("# header\nabc 12 data/x.pkl\n")
    with pytest.raises(DataError, match=r"manifest\.txt:2"):
        read_manifest(manifest)


def old_style_day(frame: pd.DataFrame) -> pd.DataFrame:
    """A day as the book stored it: integer ids in Python-int object columns, object column labels."""
    day = frame.copy()
    for name in ("CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_SECONDS", "TX_TIME_DAYS"):
        day[name] = day[name].astype(object)
    day["TX_DATETIME"] = day["TX_DATETIME"].astype("datetime64[ns]")
    day.columns = pd.Index(list(day.columns), dtype=object)
    return day


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_restricted_unpickler_accepts_a_dataframe(protocol: int) -> None:
    raw = pd.read_csv(FIXTURE, parse_dates=["TX_DATETIME"]).head(50)
    day = old_style_day(raw)
    loaded = unpickle_frame(pickle.dumps(day, protocol=protocol), "day.pkl")
    pd.testing.assert_frame_equal(loaded, day)


class _Shell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_other_classes(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(DataError, match=r"refusing to load (posix|os|nt)\.system"):
        unpickle_frame(pickle.dumps(_Shell(marker)), "evil.pkl")
    assert not marker.exists()
    with pytest.raises(DataError, match="refusing"):
        unpickle_frame(pickle.dumps({"f": eval}), "evil.pkl")
    with pytest.raises(DataError, match="not a DataFrame"):
        unpickle_frame(pickle.dumps(np.arange(3)), "array.pkl")


def test_removed_int64index_is_rebuilt_as_index(monkeypatch: pytest.MonkeyPatch) -> None:
    # pickle something that refers to pandas.core.indexes.numeric.Int64Index, as pandas 1.x wrote it
    module = types.ModuleType("pandas.core.indexes.numeric")
    int64_index = type("Int64Index", (), {"__module__": "pandas.core.indexes.numeric"})
    module.Int64Index = int64_index
    new_index = pd.core.indexes.base._new_Index

    class OldIndex:
        def __reduce__(self) -> tuple:
            return (new_index, (int64_index, {"data": np.array([3, 5, 8]), "name": None}))

    monkeypatch.setitem(sys.modules, "pandas.core.indexes.numeric", module)
    data = pickle.dumps(OldIndex(), protocol=4)
    monkeypatch.delitem(sys.modules, "pandas.core.indexes.numeric")
    assert b"Int64Index" in data
    index = RestrictedUnpickler(io.BytesIO(data)).load()
    pd.testing.assert_index_equal(index, pd.Index([3, 5, 8], dtype="int64"))


def fake_repository(tmp_path: Path, days: int = 3) -> tuple[Path, dict[str, bytes], bytes]:
    """Daily pickles of the fixture's first days, their manifest, and the CSV text they must give back."""
    text = gzip.decompress(FIXTURE.read_bytes()).decode()
    header, *lines = text.splitlines(keepends=True)
    raw = pd.read_csv(FIXTURE, parse_dates=["TX_DATETIME"], float_precision="round_trip")  # the file's exact floats
    names = sorted(raw["TX_DATETIME"].dt.strftime("%Y-%m-%d").unique())[:days]
    blobs, rows = {}, []
    for name in names:
        keep = (raw["TX_DATETIME"].dt.strftime("%Y-%m-%d") == name).to_numpy()
        blobs[f"data/{name}.pkl"] = pickle.dumps(old_style_day(raw[keep]), protocol=5)
        rows += [line for line, kept in zip(lines, keep) if kept]
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("".join(
        f"{hashlib.sha256(blob).hexdigest()}  {'0' * 40}  {len(blob)}  {path}\n"
        for path, blob in reversed(list(blobs.items()))  # any order: the manifest is sorted by date
    ))
    by_url = {entry.url: blobs[entry.path] for entry in read_manifest(manifest)}
    return manifest, by_url, (header + "".join(rows)).encode()


def test_download_rebuilds_the_csv_byte_for_byte(tmp_path: Path) -> None:
    manifest, by_url, expected = fake_repository(tmp_path)
    dest = tmp_path / "cache" / "fraud" / FILENAME
    out = download_handbook(dest, manifest=manifest, fetch=by_url.__getitem__,
                            content_sha256=hashlib.sha256(expected).hexdigest())
    assert out == dest and gzip.decompress(dest.read_bytes()) == expected
    assert sorted(p.name for p in dest.parent.iterdir()) == [FILENAME]
    assert len(HandbookSource(path=str(dest)).load()) == expected.count(b"\n") - 1


def test_download_stops_on_a_damaged_pickle(tmp_path: Path) -> None:
    manifest, by_url, _ = fake_repository(tmp_path, days=2)
    url = next(iter(by_url))
    by_url[url] = by_url[url][:-1] + b"\x00"
    dest = tmp_path / "cache" / FILENAME
    with pytest.raises(DataError, match="sha256"):
        download_handbook(dest, manifest=manifest, fetch=by_url.__getitem__, content_sha256=None)
    assert not dest.exists()


def test_download_failure_names_the_url_and_the_fix(tmp_path: Path) -> None:
    manifest, by_url, _ = fake_repository(tmp_path, days=1)

    def offline(url: str) -> bytes:
        raise OSError("no network")

    with pytest.raises(DataError, match=r"raw\.githubusercontent\.com.*GATELAB_DATA"):
        download_handbook(tmp_path / FILENAME, manifest=manifest, fetch=offline)


def test_rebuilt_csv_with_other_content_is_not_written(tmp_path: Path) -> None:
    manifest, by_url, _ = fake_repository(tmp_path, days=1)
    dest = tmp_path / FILENAME
    with pytest.raises(DataError, match="differs from the known file"):
        download_handbook(dest, manifest=manifest, fetch=by_url.__getitem__)  # the real file's sha: no match
    assert not dest.exists()


def test_atomic_write(tmp_path: Path) -> None:
    dest = tmp_path / "deep" / "out.csv.gz"
    write_atomic(b"a,b\n1,2\n", dest)
    first = dest.read_bytes()
    assert gzip.decompress(first) == b"a,b\n1,2\n"
    write_atomic(b"a,b\n1,2\n", dest)
    assert dest.read_bytes() == first  # no time stamp in the gzip header: same bytes
    with pytest.raises(TypeError):
        write_atomic(None, dest)  # type: ignore[arg-type]  # fails half-way through writing
    assert dest.read_bytes() == first
    assert [p.name for p in dest.parent.iterdir()] == ["out.csv.gz"]  # no temp file left


# --------------------------------------------------------------------------------------- full data


@pytest.fixture(scope="module")
def full_frame() -> tuple[pd.DataFrame, float]:
    """The full handbook table from GATELAB_DATA and the seconds its load took."""
    data_root()
    started = time.perf_counter()
    frame = HandbookSource().load()
    return frame, time.perf_counter() - started


@pytest.mark.full_data
def test_full_file_loads_and_checks(full_frame: tuple[pd.DataFrame, float], capsys: pytest.CaptureFixture) -> None:
    frame, seconds = full_frame
    assert len(frame) == 1_754_155 and int(frame["label"].sum()) == 14_681
    assert frame["card_id"].nunique() == 4_990 and frame["terminal_id"].nunique() == 10_000
    with capsys.disabled():
        print(f"\n[full data] handbook file read, sha256-checked and validated in {seconds:.2f} s")


@pytest.mark.full_data
def test_handbook_split_counts_match_the_book(full_frame: tuple[pd.DataFrame, float]) -> None:
    frame, _ = full_frame
    masks = split_masks(frame, HANDBOOK_SPLIT)
    counts = {name: (int(mask.sum()), int(frame["label"][mask].sum())) for name, mask in masks.items()}
    assert counts["train"] == (67_240, 598)
    assert counts["test"] == (58_264, 385)
    assert counts["val"] == (63_629, 512)
    before = split_masks(frame, dataclasses.replace(HANDBOOK_SPLIT, remove_known_compromised=False))
    assert (int(before["test"].sum()), int(frame["label"][before["test"]].sum())) == (67_080, 568)


@pytest.mark.full_data
def test_full_features_time(full_frame: tuple[pd.DataFrame, float], capsys: pytest.CaptureFixture) -> None:
    frame, _ = full_frame
    started = time.perf_counter()
    features = transaction_features(frame)
    seconds = time.perf_counter() - started
    assert features.shape == (len(frame), len(FEATURE_NAMES))
    assert np.isfinite(features.to_numpy()).all()
    with capsys.disabled():
        print(f"\n[full data] 15 handbook features for {len(frame):,} transactions in {seconds:.2f} s")
