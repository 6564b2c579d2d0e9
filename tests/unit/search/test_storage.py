"""Study storage by URL: the right store, clear errors with passwords redacted, claims under one lock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from gatelab.cli import main
from gatelab.errors import ConfigError
from gatelab.search.storage import JournalStore, PostgresStore, open_store
from gatelab.tracking.client import redact
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
