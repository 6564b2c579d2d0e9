"""The MLflow UI in a real headless Chromium: the sweep's parent run, its LSTM and GRU runs, side by side.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them, and sets GATELAB_CI=1 so
that CI fails rather than skips without them). The screenshots go to ``GATELAB_TEST_ARTIFACTS`` when
set, else to the test's temporary folder; their paths are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port, stop_group
from mlflow import MlflowClient
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1600,1000")
EXPANDER = "[data-component-id$='runnamecellrenderer.tsx_46']"
ASSISTANT_CLOSE = "[data-component-id='mlflow.assistant.chat_panel.close']"


def browser_or_skip() -> None:
    missing = [path for path in (CHROMIUM, DRIVER) if not Path(path).exists()]
    if missing and os.environ.get("GATELAB_CI"):
        pytest.fail(f"CI must run the browser test but {', '.join(missing)} is missing: .ci/run installs "
                    "chromium and chromium-driver with apt-get")
    if missing:
        pytest.skip(f"{', '.join(missing)} not found: install Debian's chromium and chromium-driver to run it")


@pytest.fixture
def mlflow_server(tiny_sweep, tmp_path: Path) -> Iterator[str]:
    """`mlflow server` over the tiny sweep's store on a free local port; stopped (whole process group) after."""
    store, _ = tiny_sweep
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
               "--default-artifact-root", (store / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "mlflow-server.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert server.poll() is None, (tmp_path / "mlflow-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not answer /health"
            time.sleep(0.5)
        yield url
    finally:
        stop_group(server, timeout=30)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    browser_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def body_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for_text(driver, *texts: str, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout).until(lambda page: all(text in body_text(page) for text in texts))


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GATELAB_TEST_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    print(f"screenshot: {path}")
    return path


def test_the_ui_shows_the_sweep_and_compares_lstm_with_gru(tiny_sweep, browser, mlflow_server, tmp_path: Path) -> None:
    store, _ = tiny_sweep
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud").experiment_id
    runs = client.search_runs([experiment], max_results=1000)
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    trials = {run.data.tags["gatelab.cell"]: run for run in runs if run.data.tags.get("gatelab.trial") == "0"
              and "gatelab.role" not in run.data.tags}

    browser.get(f"{mlflow_server}/#/experiments/{experiment}/runs")
    wait_for_text(browser, parent.info.run_name)
    for close in browser.find_elements(By.CSS_SELECTOR, ASSISTANT_CLOSE):
        close.click()
    browser.find_element(By.CSS_SELECTOR, EXPANDER).click()
    wait_for_text(browser, trials["lstm"].info.run_name, trials["gru"].info.run_name)
    assert screenshot(browser, "mlflow-ui-sweep.png", tmp_path).stat().st_size > 0

    search = browser.find_element(By.CSS_SELECTOR, "input[placeholder*='metrics.rmse']")
    search.send_keys("tags.`gatelab.cell` = 'gru'" + Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda page: trials["lstm"].info.run_name not in body_text(page))
    assert trials["gru"].info.run_name in body_text(browser)
    screenshot(browser, "mlflow-ui-filtered-gru.png", tmp_path)

    ids = urllib.parse.quote(json.dumps([trials["lstm"].info.run_id, trials["gru"].info.run_id]))
    browser.get(f"{mlflow_server}/#/compare-runs?runs={ids}&experiments={urllib.parse.quote(json.dumps([experiment]))}")
    wait_for_text(browser, trials["lstm"].info.run_name, trials["gru"].info.run_name, "gatelab.cell",
                  "model.hidden_size")
    screenshot(browser, "mlflow-ui-compare.png", tmp_path)
