"""The default study store, an Optuna journal file: shared by processes, read by optuna-dashboard,
and never in the way of a study that an earlier version kept in optuna.db."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import tracker_command
from tests.helpers import finished, slow_objective_config, study, trial_runs
from tests.scale_fixtures import get_json, optuna_dashboard


def test_a_study_kept_in_optuna_db_is_resumed_there(workdir: Path, invoke) -> None:
    first = invoke("sweep", "--trials", "2", "--quiet", "--storage", "sqlite:///optuna.db")
    assert first.exit_code == 0, first.output
    again = invoke("sweep", "--trials", "3", "--quiet")
    assert again.exit_code == 0, again.output
    assert "reached 3 finished trials" in again.output
    assert finished(study(storage=f"sqlite:///{workdir / 'optuna.db'}")) == 3
    assert not (workdir / "optuna.journal").exists()


@pytest.mark.slow
def test_workers_started_at_once_share_the_journal_to_an_exact_total(workdir: Path) -> None:
    config = slow_objective_config(workdir, "journal")
    command = tracker_command("sweep", "--config", str(config), "--trials", "7", "--quiet")
    # Every trial waits until two workers have one: however the start-ups race, two share the work.
    env = {**os.environ, "TRIAL_SECONDS": "0.2", "WAIT_FOR_WORKERS": "2"}
    workers = [subprocess.Popen(command, cwd=workdir, env=env, text=True, stdout=subprocess.PIPE) for _ in range(3)]
    for worker in workers:
        out, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0, out
    shared = study("journal")
    assert finished(shared) == 7
    assert len({t.user_attrs["worker"] for t in shared.trials}) >= 2
    numbers = sorted(int(r.data.tags["tracker.trial_number"]) for r in trial_runs("journal"))
    assert numbers == sorted(t.number for t in shared.trials)
    # Each sweep that joined drew its own trials, not a copy of another's.
    drawn = [t.params["x"] for t in shared.trials]
    assert len(set(drawn)) == len(drawn)


@pytest.mark.slow
def test_the_same_seed_in_a_fresh_folder_draws_the_same_trials(workdir: Path) -> None:
    draws = []
    for name in ("first", "second"):
        folder = workdir / name
        folder.mkdir()
        config = slow_objective_config(folder, "seeded")
        done = subprocess.run(
            tracker_command("sweep", "--config", str(config), "--trials", "4", "--quiet"),
            cwd=folder,
            env={**os.environ, "TRIAL_SECONDS": "0"},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        draws.append([t.params["x"] for t in study("seeded", str(folder / "optuna.journal")).trials])
    assert draws[0] == draws[1] and len(set(draws[0])) == 4


@pytest.mark.slow
def test_optuna_dashboard_reads_the_journal_a_sweep_wrote(workdir: Path, invoke) -> None:
    assert invoke("sweep", "--trials", "3", "--quiet").exit_code == 0
    with optuna_dashboard("optuna.journal", workdir) as api:
        studies = get_json(f"{api}/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["tracker-demo"]
        trials = get_json(f"{api}/studies/{studies[0]['study_id']}")["trials"]
    assert [t["state"] for t in trials] == ["Complete"] * 3
