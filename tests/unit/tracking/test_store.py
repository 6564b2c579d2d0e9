"""A busy tracking store: another process's lock is waited for up to GATELAB_STORE_TIMEOUT, then one error naming the
store; runs are closed once it takes writes again, or as killed when their parent is reopened (a real SQLite store
locked by a real second process)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gatelab.errors import ConfigError
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.tracking.lifecycle import tracked_run
from gatelab.tracking.store import DEFAULT_TIMEOUT, StoreError, store_timeout

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


def hold(database: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds ``database``'s exclusive lock (``BEGIN EXCLUSIVE``) for ``seconds`` from now."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_the_limit_is_read_from_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATELAB_STORE_TIMEOUT", raising=False)
    assert store_timeout() == DEFAULT_TIMEOUT == 120
    monkeypatch.setenv("GATELAB_STORE_TIMEOUT", "7.5")
    assert store_timeout() == 7.5
    for bad in ("soon", "0", "-3", "inf"):
        monkeypatch.setenv("GATELAB_STORE_TIMEOUT", bad)
        with pytest.raises(ConfigError, match=rf"^GATELAB_STORE_TIMEOUT={bad}: not a number of seconds above 0"):
            store_timeout()


def test_a_lock_shorter_than_the_limit_is_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATELAB_STORE_TIMEOUT", "60")
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    run_id = tracker.start_run("waits", {})

    holder = hold(tmp_path / "mlruns" / "mlflow.db", 2)
    tracker.set_tags(run_id, {"written": "during the hold"})
    holder.wait()

    assert tracker.client.get_run(run_id).data.tags["written"] == "during the hold"


def test_a_lock_longer_than_the_limit_ends_with_one_error_and_the_run_closed_once_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write fails after the limit; closing the run waits once more, and the lock is gone by then."""
    monkeypatch.setenv("GATELAB_STORE_TIMEOUT", "2")
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    database = tmp_path / "mlruns" / "mlflow.db"

    with pytest.raises(StoreError) as busy:
        with tracked_run(tracker, "busy", {tag.CELL: "gru"}) as run_id:
            holder = hold(database, 3)
            tracker.set_tags(run_id, {"written": "never"})
    holder.wait()

    assert str(busy.value) == (f"{database}: another process held the store's lock for more than 2 s "
                               "(GATELAB_STORE_TIMEOUT); let it finish (or set GATELAB_STORE_TIMEOUT higher), then "
                               "run the same command again to resume.")
    run = tracker.client.get_run(run_id)
    assert (run.info.status, run.data.tags[tag.STATE]) == ("FAILED", "crashed") and "written" not in run.data.tags


def test_runs_left_running_by_a_gone_process_are_closed_as_killed_when_their_parent_is_reopened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock outlasts the write and the close: both runs are left RUNNING and the error says so; the next start
    (a parent reopened by another process) closes the child as killed."""
    monkeypatch.setenv("GATELAB_STORE_TIMEOUT", "0.5")
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    with pytest.raises(StoreError) as busy:
        with tracked_run(tracker, "parent", {}) as parent:
            with tracked_run(tracker, "child", {}, parent=parent) as child:
                holder = hold(tmp_path / "mlruns" / "mlflow.db", 4)
                tracker.set_tags(child, {"written": "never"})
    holder.wait()

    assert busy.value.unclosed == [child, parent]
    assert str(busy.value).endswith("(2 runs it opened could not be closed and show RUNNING until then: the same "
                                    "command closes them as KILLED when it starts.)")
    assert {tracker.client.get_run(run).info.status for run in (child, parent)} == {"RUNNING"}
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tracker.set_tags(child, {tag.WORKER: f"{socket.gethostname()}:{gone.stdout.strip()}:1"})  # as its process left it

    Tracker(tmp_path / "mlruns", "fraud").reopen(parent)

    run = tracker.client.get_run(child)
    assert (run.info.status, run.data.tags[tag.STATE]) == ("KILLED", "killed")
    assert tracker.client.get_run(parent).info.status == "RUNNING"
