"""`gatelab serve`: MLflow's scoring server on a tiny sweep's champion, asked over real HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import mlflow.pytorch
import pytest
import requests
import torch
from conftest import free_port, run_cli, stop_group
from gatelab.tracking.serving import champion, champion_classifier, input_example
from gatelab.training.experiment import load_experiment
from gatelab.training.streaming import StreamingScorer

pytestmark = pytest.mark.e2e


def test_serve_without_a_champion_says_which_sweep_to_run(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "serve", "--task", "fraud", "--store", str(tmp_path / "mlruns"))
    assert code == 2 and "no champion model of task 'fraud'" in err and "make sweep TASK=fraud" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "mlruns").exists()


def test_the_champion_answers_http_requests_like_the_model_in_process(tiny_sweep, tmp_path: Path, capsys) -> None:
    store, _ = tiny_sweep
    data = load_experiment("fraud", [store.parent / "tiny.yaml"]).run().data
    data.setup("test")
    sequences = next(iter(data.test_dataloader()))["x"][:32]  # real test sequences of the sweep's data
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    try:
        model = mlflow.pytorch.load_model("models:/gatelab-fraud@champion")
    finally:
        mlflow.set_tracking_uri(None)
    expected = model(sequences).detach().numpy()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "gatelab.cli", "serve", "--task", "fraud", "--store", str(store),
                               "--port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the scoring server did not answer /ping"
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        answer = requests.post(f"{url}/invocations", json={"inputs": sequences.tolist()}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == pytest.approx(expected.tolist(), abs=1e-6)

        short = requests.post(f"{url}/invocations", json={"inputs": sequences[:, 1:].tolist()}, timeout=60)
        assert short.status_code == 400 and "does not match expected shape" in short.json()["message"]
        # a NaN, an infinity (JSON's NaN / Infinity / -Infinity tokens, as Python's json writes them) or a string
        # anywhere in a batch: refused, naming the first one's sequence, step and feature; never a NaN answer
        last = sequences.shape[2] - 1
        for value, said in ((float("nan"), "is NaN"), (float("inf"), "is Infinity"), (float("-inf"), "is -Infinity"),
                            ("12.5", "is '12.5', not a number")):
            posted = sequences[:6].tolist()
            posted[4][1][last] = value
            refused = requests.post(f"{url}/invocations", data=json.dumps({"inputs": posted}),  # requests refuses NaN
                                    headers={"Content-Type": "application/json"}, timeout=60)
            assert refused.status_code == 400, refused.text
            error = refused.json()
            assert error["error_code"] == "INVALID_PARAMETER_VALUE"
            assert f"inputs[4][1][{last}] (sequence 4, step 1, feature {last}) {said}" in error["message"]
            assert "predictions" not in error
        assert requests.post(f"{url}/invocations", json={"inputs": sequences[:1].tolist()}, timeout=60).ok

        code, out, err = run_cli(capsys, "serve-bench", "--task", "fraud", "--store", str(store), "--port", str(port),
                                 "--requests", "20", "--seconds", "20")
        assert code == 0, err
        figures = re.search(r"(\d+) requests of 1 sequence.* ([\d.]+) requests/s; "
                            r"latency p50 ([\d.]+) ms, p99 ([\d.]+)", out)
        assert figures and int(figures[1]) >= 1 and all(float(value) > 0 for value in figures.groups()[1:]), out
    finally:  # the server and its uvicorn process share the command's process group
        stop_group(server)
        log.close()
    printed = (tmp_path / "serve.log").read_text()
    assert f"on http://127.0.0.1:{port}/invocations" in printed and "models:/gatelab-fraud/" in printed


def test_the_registered_champion_streams_event_by_event_as_it_scores_windows(tiny_sweep) -> None:
    store, _ = tiny_sweep
    uri = f"sqlite:///{store / 'mlflow.db'}"
    classifier, cfg = champion_classifier("fraud", uri)
    version = champion("fraud", uri)
    windows = torch.from_numpy(input_example(version, uri))
    registered = mlflow.pytorch.load_model(version.source)
    assert torch.allclose(classifier.score(windows), registered(windows), atol=1e-6)
    scorer = StreamingScorer(classifier, cfg.config.data.init_args.history)
    for card, window in enumerate(windows):
        events = window[window[:, -1] > 0]  # the card's own transactions (presence flag last); the rest is padding
        with torch.inference_mode():
            for event in events:
                streamed = scorer.score([card], event[None])
        assert streamed.item() == pytest.approx(registered(window[None]).item(), abs=1e-5)
