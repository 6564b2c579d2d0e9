"""Study storage by URL: the right store, clear errors with passwords redacted, claims under one lock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import optuna
import pytest
from gatelab.cli import main
from gatelab.errors import ConfigError
from gatelab.search.storage import JournalBackend, JournalStore, PostgresStore, open_store
from gatelab.tracking.client import redact
from gatelab.tracking.store import StoreError
from workers_support import fresh_database


def test_redact_hides_passwords_in_urls_wherever_they_are() -> None:
    assert redact("postgresql://me:pa:ss@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert redact("see http://u:p@h:5000 and postgresql+psycopg://a:b@c/d") == \
        "see http://u:***@h:5000 and postgresql+psycopg://a:***@c/d"
    assert redact("postgresql://me@db/x and /a/b.journal") == "postgresql://me@db/x and /a/b.journal"


def test_urls_choose_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATELAB_STORAGE", raising=False)
    default = open_store(None, tmp_path / "store")
    assert isinstance(default, JournalStore) and default.path == tmp_path / "store" / "optuna.journal"
    assert open_store(str(tmp_path / "s.journal"), tmp_path).path == tmp_path / "s.journal"
    assert open_store(f"file://{tmp_path}/t.journal", tmp_path).path == tmp_path / "t.journal"
    monkeypatch.setenv("GATELAB_STORAGE", str(tmp_path / "env.journal"))
    assert open_store(None, tmp_path).path == tmp_path / "env.journal"
    with pytest.raises(ConfigError, match=r"sqlite:///x\.db: SQLite is not safe"):
        open_store("sqlite:///x.db", tmp_path)
    with pytest.raises(ConfigError, match=r"mysql://u:\*\*\*@h/d: unsupported"):
        open_store("mysql://u:hunter2@h/d", tmp_path)


def gatelab_exit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the `gatelab` command in this process; returns its exit code and everything it printed."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    printed = capsys.readouterr()
    return stop.value.code, printed.out + printed.err


@pytest.mark.parametrize("url", ["postgresql://u:hunter2@127.0.0.1:1/none",
                                 "postgresql://postgres:hunter2@127.0.0.1:5432/gatelab_no_such_database"])
def test_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path, capsys, url: str) -> None:
    code, printed = gatelab_exit(capsys, "sweep", "--task", "fraud", "--store", str(tmp_path), "--storage", url)
    assert code == 2
    assert "cannot open the study storage postgresql://" in printed and ":***@127.0.0.1" in printed
    assert "hunter2" not in printed


def test_ddp_with_pruning_on_a_journal_is_refused_before_any_work(tmp_path: Path, capsys, tiny_config) -> None:
    code, printed = gatelab_exit(capsys, "sweep", "--task", "fraud", "--config", str(tiny_config()),
                                 "--store", str(tmp_path / "mlruns"), "--devices", "2")
    assert code == 2 and "needs a database storage" in printed


@pytest.mark.parametrize("backend", ["journal", "postgresql"])
def test_the_sweep_lock_is_held_by_one_holder_at_a_time(tmp_path: Path, backend: str) -> None:
    with fresh_database() as url:
        first, second = ((JournalStore(tmp_path / "s.journal"), JournalStore(tmp_path / "s.journal"))
                         if backend == "journal" else (PostgresStore(url, 1), PostgresStore(url, 1)))
        events: list[str] = []

        def contend() -> None:
            with second.lock("sweep-a"):
                events.append("second")

        with first.lock("sweep-a"):
            thread = threading.Thread(target=contend)
            thread.start()
            with second.lock("sweep-b"):  # another sweep's lock is free
                events.append("other sweep")
            time.sleep(0.5)
            events.append("first releases")
        thread.join()
        assert events == ["other sweep", "first releases", "second"]


def test_a_journal_lock_held_past_the_limit_is_one_error_naming_the_lock(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds the journal's lock (its symbolic link) and keeps writing the journal: a write waits
    GATELAB_STORE_TIMEOUT seconds, then says which lock and what to do; once the lock is free, writes go on."""
    journal = JournalStore(tmp_path / "s.journal")
    lock = tmp_path / "s.journal.lock"
    lock.symlink_to(tmp_path / "s.journal")  # as Optuna's JournalFileSymlinkLock takes it
    monkeypatch.setenv("GATELAB_STORE_TIMEOUT", "0.5")

    with pytest.raises(StoreError) as busy:
        optuna.create_study(storage=journal.storage, study_name="busy")

    assert str(busy.value).startswith(f"{lock}: the study journal's lock stayed held for more than 0.5 s "
                                      "(GATELAB_STORE_TIMEOUT)")
    assert "run the same command again to resume" in str(busy.value)
    lock.unlink()
    optuna.create_study(storage=journal.storage, study_name="busy")
    assert optuna.get_all_study_names(journal.storage) == ["busy"] and not lock.exists()


def test_a_journal_on_a_full_disk_is_one_error_naming_the_journal(tmp_path: Path) -> None:
    """Writes to /dev/full fail with ENOSPC, as on a full disk."""
    journal = tmp_path / "full.journal"
    journal.symlink_to("/dev/full")
    backend = JournalBackend(journal)

    with pytest.raises(StoreError, match=rf"^{journal}: the disk is full; free space on it .* run the same command "
                                         "again to resume"):
        backend.append_logs([{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}])
