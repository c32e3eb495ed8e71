"""Bad input: one line naming the field and what is allowed, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


def _config(folder: Path, data: dict) -> Path:
    path = folder / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"experimnt": "x"}, "experimnt: unknown key"),
        ({"limits": {"max_trials": "many"}}, "limits.max_trials: Input should be a valid integer"),
        ({"limits": {"max_trials": 0}}, "limits.max_trials: Input should be greater than or equal to 1"),
        (
            {"search_space": {"C": {"type": "float", "low": 5, "high": 1}}},
            "search_space.C: empty range: low (5) must be below high (1)",
        ),
        (
            {"search_space": {"k": {"type": "categorical", "choices": []}}},
            "search_space.k: categorical needs a non-empty 'choices' list",
        ),
        (
            {"objective": {"metric": "f2"}},
            "objective: unknown metric 'f2'; allowed: accuracy, precision, recall, f1, roc_auc, mse, rmse, mae, r2",
        ),
        (
            {"strategy": "genetic"},
            "strategy: got 'genetic'; input should be 'bayesian', 'random', 'grid' or 'hyperband'",
        ),
        ({"objective": {"trainer": "xgboost"}}, "objective.trainer: unknown trainer 'xgboost'; allowed: random_forest"),
        ({"objective": {"dataset": "missing.csv", "target": "y"}}, "objective.dataset: file not found:"),
        ({"objective": {"trainer": "ridge", "metric": "f1"}}, "objective.trainer: 'ridge' does not do classification"),
    ],
)
def test_invalid_config_exits_2_with_one_line(workdir: Path, invoke, data: dict, expected: str) -> None:
    result = invoke("sweep", "--config", _config(workdir, data), "--quiet")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_missing_target_column_names_the_columns(workdir: Path, invoke) -> None:
    (workdir / "data.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    path = _config(workdir, {"objective": {"dataset": "data.csv", "target": "churned"}})
    result = invoke("sweep", "--config", path)
    assert result.exit_code == 2
    # The dataset's path is the config file's folder's (here the working folder's), made absolute.
    assert f"objective.target: no column 'churned' in {workdir / 'data.csv'}; columns: a, b, label" in result.output


def test_missing_config_file(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert result.output.strip() == "error: config file not found: nope.yaml"


def test_malformed_yaml(workdir: Path, invoke) -> None:
    (workdir / "broken.yaml").write_text("experiment: [unclosed\n")
    result = invoke("sweep", "--config", "broken.yaml")
    assert result.exit_code == 2 and "broken.yaml: not valid YAML at line" in result.output


def test_unknown_strategy_flag_is_a_usage_error(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--strategy", "genetic")
    assert result.exit_code == 2
    assert "'genetic' is not one of 'bayesian', 'random', 'grid', 'hyperband'" in result.output


def test_debug_shows_the_traceback(workdir: Path) -> None:
    import subprocess
    import sys

    (workdir / "bad.yaml").write_text("limits: {max_trials: 0}\n")
    plain = subprocess.run(
        [sys.executable, "-m", "tracker", "sweep", "--config", "bad.yaml"], capture_output=True, text=True
    )
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "tracker", "sweep", "--config", "bad.yaml", "--debug"], capture_output=True, text=True
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_runs_without_a_sweep(workdir: Path, invoke) -> None:
    result = invoke("runs", "--experiment", "nothing-here")
    assert result.exit_code == 2
    assert "no experiment 'nothing-here'" in result.output


def test_library_errors_name_config_keys_and_each_command_its_own_flags() -> None:
    from tracker.cli import cli
    from tracker.cli._group import in_flags

    message = "`cost.source` billing-file needs `cost.file`: a CUR 2.0, legacy CUR or FOCUS export"
    report, runs = cli.commands["report"], cli.commands["runs"]
    assert in_flags(message, report) == "--source billing-file needs --file: a CUR 2.0, legacy CUR or FOCUS export"
    # `tracker runs` has no --file: the key stays a key, never a flag the command would refuse.
    assert in_flags(message, runs) == "cost.source billing-file needs cost.file: a CUR 2.0, legacy CUR or FOCUS export"
    assert in_flags("run `tracker sweep` first", runs) == "run `tracker sweep` first"


def test_a_currency_mismatch_in_a_report_names_no_flag_report_lacks(workdir: Path, invoke) -> None:
    from datetime import date
    from decimal import Decimal

    from cost.table import SpendFilter, SpendRow, SpendTable
    from reports.gather import gather
    from tracker.config import load_settings
    from tracker.errors import UsageError
    from tracker.record import Record

    assert invoke("sweep", "--trials", "2", "--quiet").exit_code == 0
    values = {"true_positive": 1, "false_positive": 0, "false_negative": 0, "true_negative": 0}
    settings = load_settings(overrides={"roi": {"currency": "USD", "value_per_outcome": values}})
    row = SpendRow(date(2026, 10, 1), date(2026, 10, 2), "S3", Decimal("1.00"), "EUR", False)
    spend = SpendTable("billing-file", SpendFilter((), None, None), (row,))
    with pytest.raises(UsageError) as raised:
        gather(Record.open(settings.tracking_uri), settings, None, spend, refresh=False, check_tags=False)
    assert str(raised.value) == (
        "roi.currency is USD but the spend is in EUR; set roi.currency to EUR to match, or read a bill kept in USD"
    )
