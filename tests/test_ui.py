"""The MLflow UI as a user reaches it: the links `tracker` prints, opened in headless Chromium.

MLflow 3 opens an experiment in its GenAI workspace unless the link asks for the
model-training one; these tests load the printed links in a real browser and read the
rendered page.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import ON_CI, free_port, tracker_command
from tests.helpers import parent_runs, processes_marked, slow_objective_config, trial_runs
from tests.scale_fixtures import stop_group

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _browser() -> str:
    if CHROMIUM is None:
        if ON_CI:
            pytest.fail("CI installs Debian's chromium (.ci/run); the UI tests must run there")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def _render(url: str, tmp_path: Path) -> str:
    """The page's text once its scripts have run, as a person would read it."""
    profile = tmp_path / "chromium-profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
        "--virtual-time-budget=20000",
    ]
    dom = subprocess.run([_browser(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    text = re.sub(r"<style.*?</style>|<script.*?</script>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def _serve(workdir: Path, *args: str, lines: int = 3) -> tuple[subprocess.Popen[str], list[str]]:
    """`tracker ui` in its own process group, and the ``lines`` it printed before serving."""
    port = free_port()
    proc = subprocess.Popen(
        tracker_command("ui", "--port", str(port), *args),
        cwd=workdir,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        # The "browser": a shell that writes down the URL it was asked to open.
        env={**os.environ, "BROWSER": f"sh -c 'echo \"$0\" > {workdir / 'opened.txt'}' %s"},
    )
    assert proc.stdout is not None
    printed = [proc.stdout.readline() for _ in range(lines)]
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc, printed
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_the_printed_links_land_on_the_runs_table_and_the_compare_page(workdir: Path, invoke, tmp_path: Path) -> None:
    _browser()
    config = slow_objective_config(workdir, "ui-links")
    swept = invoke("sweep", "--config", config, "--trials", "6")
    assert swept.exit_code == 0, swept.output
    # The sweep's own closing lines carry the same two links.
    assert "Runs table: http://127.0.0.1:5000/#/experiments/" in swept.output
    assert "workflowType=machine_learning" in swept.output and "Compare the best 5:" in swept.output
    assert "Compare all 6:" in swept.output

    proc, lines = _serve(workdir, "--config", str(config), "--open", lines=5)
    try:
        runs_link = lines[1].strip().removeprefix("Runs table: ")
        best_link = lines[2].strip().removeprefix("Best trial's run: ")
        compare_link = lines[3].strip().removeprefix("Compare the best 5: ")
        assert runs_link.startswith("http://127.0.0.1:") and "workflowType=machine_learning" in runs_link
        assert "viewStateShareKey=" in runs_link
        assert compare_link.startswith("http://127.0.0.1:") and "#/compare-runs?runs=" in compare_link
        # --open handed the runs table to the browser once the UI answered.
        deadline = time.monotonic() + 30
        while not (workdir / "opened.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (workdir / "opened.txt").read_text().strip() == runs_link

        assert len(parent_runs("ui-links")) == 1
        trials = sorted(trial_runs("ui-links"), key=lambda run: -run.data.metrics["val_x"])
        runs_page = _render(runs_link, tmp_path)
        assert "Model training" in runs_page, runs_page[:2000]
        # The sweep's trials as flat rows, best val_x first, with val_x and the parameter as columns.
        assert "6 matching runs" in runs_page, runs_page[:3000]
        header = runs_page[runs_page.index("Run Name") : runs_page.index(trials[0].info.run_name)]
        assert "Metrics" in header and "val_x" in header and "Parameters" in header, header
        names = [run.info.run_name for run in trials]
        assert sorted(names, key=runs_page.index) == names, runs_page[:3000]
        assert f"{trials[0].data.metrics['val_x']:.4f}"[:6] in runs_page
        # The best trial's run, opened from its printed link, shows that run in the model-training
        # workspace (its side bar has the model registry, not GenAI's judges and prompts).
        best = trials[0]
        assert best.info.run_id in best_link
        run_page = _render(best_link, tmp_path)
        assert best.info.run_name in run_page and "Parameters" in run_page and "val_x" in run_page, run_page[:2000]
        assert "Model registry" in run_page and "Judges" not in run_page and "Prompts" not in run_page, run_page[:800]
        compare_page = _render(compare_link, tmp_path)
        assert "Comparing 5 Runs" in compare_page, compare_page[:2000]
        assert "Parallel Coordinates Plot" in compare_page
    finally:
        stop_group(proc)
    # Stopping `tracker ui --open` stops the server it started in a session of its own.
    served = runs_link.split("/#/")[0]
    deadline = time.monotonic() + 30
    while _answers(served):
        assert time.monotonic() < deadline, "the MLflow UI outlived tracker ui --open"
        time.sleep(0.5)


def _answers(served: str) -> bool:
    try:
        with urllib.request.urlopen(f"{served}/health", timeout=2):
            return True
    except OSError:
        return False


def test_the_ui_starts_without_a_sweep(workdir: Path) -> None:
    # Serving itself is proven above; here, only that no sweep means no links and no error.
    proc = subprocess.Popen(
        tracker_command("ui", "--port", str(free_port())),
        cwd=workdir,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("MLflow UI on http://127.0.0.1:") and "(Ctrl-C stops it)" in first
        assert proc.poll() is None  # serving, not failed
    finally:
        stop_group(proc)


def test_links_point_at_a_tracking_server_when_there_is_one() -> None:
    from tracker.compare import ui_links

    links = ui_links("https://ci:s3cret@mlflow.example.com/", "7", ["a1", "b2"])
    assert links.runs == "https://ci:***@mlflow.example.com/#/experiments/7/runs?workflowType=machine_learning"
    assert links.compare == (
        "https://ci:***@mlflow.example.com/#/compare-runs?runs=%5B%22a1%22%2C%22b2%22%5D&experiments=%5B%227%22%5D"
    )
    assert not links.local and links.compared == 2
    local = ui_links("sqlite:////tmp/mlflow.db", "7", ["a1"], "http://127.0.0.1:5001")
    assert local.local and local.compare is None and local.runs.startswith("http://127.0.0.1:5001/#/experiments/7/")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_no_mlflow_process_outlives_a_signal_at_any_moment_of_start_up(workdir: Path, signum: int) -> None:
    if not Path("/proc/self/environ").exists():
        pytest.skip("reads /proc to find the server's processes (Linux)")
    for after in (0.5, 2.0, 5.0):
        mark = f"TRACKER_UI_TEST_{uuid.uuid4().hex}"
        proc = subprocess.Popen(
            tracker_command("ui", "--port", str(free_port())),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, mark: "1"},
        )
        time.sleep(after)
        proc.send_signal(signum)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"tracker ui ignored {signal.Signals(signum).name} sent after {after} s") from None
        # tracker ui ends like Ctrl-C, and takes the server's whole group with it.
        assert proc.returncode == 130, (after, err)
        assert err.strip().splitlines()[-1].startswith("interrupted"), (after, err)
        deadline = time.monotonic() + 5
        while (left := processes_marked(mark)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left == [], f"{len(left)} MLflow process(es) outlived {signal.Signals(signum).name} sent after {after} s"


def test_open_without_a_browser_says_where_to_go(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import webbrowser

    from tracker.cli.ui import _open

    def no_browser(using: str | None = None) -> webbrowser.BaseBrowser:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    _open("http://127.0.0.1:5000/#/experiments/1/runs")
    err = capsys.readouterr().err
    assert err.strip() == (
        "note: no browser found on this machine; open http://127.0.0.1:5000/#/experiments/1/runs where there is one"
    )
