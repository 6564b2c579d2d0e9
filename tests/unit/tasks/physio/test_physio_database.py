"""Finding, downloading and checking MIT-BIH records: every bad input names the record and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_records
from gatelab.errors import DataError
from gatelab.files import cache_dir

from tasks.physio.database import (
    database_dir,
    download_records,
    ensure_records,
    files_fingerprint,
    read_record,
    verify_record,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mitdb"


def test_leads_are_picked_by_name() -> None:
    """MLII is channel 1 of record 114 and channel 0 elsewhere."""
    mlii = read_record(FIXTURES, "114", ("MLII",))
    both = read_record(FIXTURES, "114", ("V5", "MLII"))
    assert mlii.fs == 360.0 and mlii.signal.shape == (21_600, 1)
    assert np.array_equal(mlii.signal[:, 0], both.signal[:, 1])
    # the header's first MLII value of 114 is 1027 adu: (1027 - 1024) / 200 mV
    assert mlii.signal[0, 0] == pytest.approx(3 / 200)


def test_unknown_lead_names_record_and_leads() -> None:
    with pytest.raises(DataError, match=r"record 208: no lead 'V5'; it has \['MLII', 'V1'\].*preprocess.leads"):
        read_record(FIXTURES, "208", ("V5",))


def test_missing_record_names_it_and_the_fix(tmp_path: Path) -> None:
    copy_records(tmp_path, "208")
    (tmp_path / "208.atr").unlink()
    with pytest.raises(DataError, match=r"record 208: 208\.atr not found .*GATELAB_DATA"):
        ensure_records(tmp_path, ["208"], downloadable=False)
    with pytest.raises(DataError, match=r"record 999: 999\.hea, 999\.dat, 999\.atr not found"):
        read_record(tmp_path, "999", ("MLII",))


def test_truncated_signal_file_is_refused(tmp_path: Path) -> None:
    copy_records(tmp_path, "232")
    data = (tmp_path / "232.dat").read_bytes()
    (tmp_path / "232.dat").write_bytes(data[:-300])
    with pytest.raises(DataError, match=r"record 232: 232\.dat has 64,500 bytes but its header promises 64,800"):
        verify_record(tmp_path, "232")


def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    copy_records(tmp_path, "232")
    data = bytearray((tmp_path / "232.dat").read_bytes())
    data[3000] ^= 0x01  # one bit of one sample
    (tmp_path / "232.dat").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"record 232: the samples' checksums .* differ from the header's .*replace"):
        read_record(tmp_path, "232", ("MLII",))


def test_header_of_another_record_is_refused(tmp_path: Path) -> None:
    copy_records(tmp_path, "232", "233")
    shutil.copy(tmp_path / "233.dat", tmp_path / "232.dat")
    with pytest.raises(DataError, match="record 232: the samples' checksums"):
        verify_record(tmp_path, "232")


def test_where_records_are_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert database_dir(str(tmp_path)) == (tmp_path, False)
    monkeypatch.setenv("GATELAB_DATA", str(tmp_path))
    assert database_dir(None) == (tmp_path / "physio" / "mitdb", False)
    monkeypatch.delenv("GATELAB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = (tmp_path / ".cache" / "gatelab" / "physio" / "mitdb", True)
    assert database_dir(None) == expected == (cache_dir("physio", "mitdb"), True)


def local_fetch(calls: list[list[str]], damage: str | None = None):
    """A stand-in for PhysioNet: copies the fixture files, optionally truncating one record's signal."""

    def fetch(records: list[str], dest: Path) -> None:
        calls.append(list(records))
        copy_records(dest, *records)
        if damage is not None:
            path = dest / f"{damage}.dat"
            path.write_bytes(path.read_bytes()[:1000])

    return fetch


def test_missing_records_are_downloaded_checked_and_moved_into_place(tmp_path: Path) -> None:
    directory = copy_records(tmp_path / "mitdb", "114")
    calls: list[list[str]] = []
    ensure_records(directory, ["114", "208", "232"], downloadable=True, fetch=local_fetch(calls))
    assert calls == [["208", "232"]]
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        f"{record}.{ext}" for record in ("114", "208", "232") for ext in ("atr", "dat", "hea"))
    ensure_records(directory, ["114", "208", "232"], downloadable=True, fetch=local_fetch(calls))
    assert len(calls) == 1  # all there now: nothing fetched
    verify_record(directory, "208")


def test_a_damaged_download_is_not_kept(tmp_path: Path) -> None:
    directory = tmp_path / "mitdb"
    with pytest.raises(DataError, match=r"record 232: 232\.dat has 1,000 bytes"):
        download_records(directory, ["208", "232"], local_fetch([], damage="232"))
    assert list(directory.iterdir()) == []  # neither the damaged record nor the good one was moved in


def test_a_failed_download_names_the_fix(tmp_path: Path) -> None:
    def offline(records: list[str], dest: Path) -> None:
        raise OSError("network unreachable")

    with pytest.raises(DataError, match=r"cannot download records 208 .*network unreachable.*GATELAB_DATA"):
        download_records(tmp_path, ["208"], offline)


def test_fingerprint_follows_every_byte(tmp_path: Path) -> None:
    copy_records(tmp_path, "208", "232")
    first = files_fingerprint(tmp_path, ["232", "208"])
    assert first == files_fingerprint(tmp_path, ["208", "232"])
    annotations = bytearray((tmp_path / "208.atr").read_bytes())
    annotations[-3] ^= 0x01
    (tmp_path / "208.atr").write_bytes(bytes(annotations))
    assert files_fingerprint(tmp_path, ["208", "232"]) != first
