"""Every bad input, through the real CLI in a subprocess: the exit code (2 for the user's input,
1 for failed work), exactly one ``error:`` line naming the field or file and what to do, no
traceback, a short message, and no MLflow run left RUNNING."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import free_port, tracker_command

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
FOCUS_HEADER = "BilledCost,ChargePeriodStart,ChargePeriodEnd,ServiceName,BillingCurrency,Tags\n"
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{k}: &{k} [{', '.join([f'*{p}'] * 9)}]" for p, k in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    exit_code: int
    says: str  # a fragment of the one error line: the field or file, and what is wrong
    files: dict[str, str | bytes] = field(default_factory=dict)
    # Cases that run trials print the sweep's summary on stdout; the error is on stderr.
    summary: bool = False
    # More environment: a stand-in package on PYTHONPATH, say.
    env: dict[str, str] = field(default_factory=dict)
    # A command that printed its error must also end: past this, the case has hung.
    timeout: float = 60


def _config(data: dict) -> dict[str, str]:
    return {"c.yaml": yaml.safe_dump(data)}


def _sweep(data: dict, *extra: str) -> tuple[str, ...]:
    return ("sweep", "--config", "c.yaml", "--quiet", "--trials", "2", *extra)


def _fn(body: str) -> dict[str, str]:
    files = _config({"objective": {"function": "userfn:objective", "metric": "loss", "direction": "minimize"}})
    return {**files, "userfn.py": body}


CASES: dict[str, Case] = {
    "expected_value without values": Case(_sweep({}), 2, "objective.metric expected_value needs the roi section", _config({"objective": {"metric": "expected_value"}})),
    "a range upside down": Case(_sweep({}), 2, "needs low <= likely <= high", _config({"roi": {"predictions_per_month": {"low": 5, "likely": 1, "high": 9}}})),
    "value_per_outcome and action": Case(_sweep({}), 2, "give either value_per_outcome or action", _config({"roi": {"action": {"value_if_caught": 1, "success_rate": 0.5, "action_cost": 1}, "value_per_outcome": {"true_positive": 1, "false_positive": 0, "false_negative": 0, "true_negative": 0}}})),
    "a production rate of 1": Case(_sweep({}), 2, "production_positive_rate: 1 is outside (0, 1)", _config({"roi": {"production_positive_rate": 1}})),
    "a metric with no known direction": Case(_sweep({}), 2, "direction: required for the metric 'loss' (maximize or minimize)", _config({"objective": {"function": "userfn:objective", "metric": "loss"}})),
    "a function objective naming neither": Case(_sweep({}), 2, "direction: required for the metric 'objective'", _config({"objective": {"function": "userfn:objective"}})),
    "experiment with a slash": Case(_sweep({}), 2, "experiment: 'team/churn' cannot name", _config({"experiment": "team/churn"})),
    "experiment with a colon": Case(_sweep({}), 2, "experiment: 'churn:v2' cannot name", _config({"experiment": "churn:v2"})),
    "experiment of 600 characters": Case(_sweep({}), 2, "experiment: String should have at most 250", _config({"experiment": "x" * 600})),
    "impossible date in a flag": Case(("cost", "--start", "2026-02-30", "--end", "2026-03-01"), 2, "--start"),
    "impossible date in the config": Case(_sweep({}), 2, "c.yaml: a value cannot be read (day is out of range", {"c.yaml": "cost:\n  start: 2026-02-30\n"}),
    "config not UTF-8": Case(_sweep({}), 2, "c.yaml: not UTF-8 text", {"c.yaml": b"experiment: caf\xe9\n"}),
    "function module empty": Case(_sweep({}), 2, "objective.function: module 'userfn' has no function 'objective'", _fn("")),
    "function module raises on import": Case(_sweep({}), 2, "objective.function: importing 'userfn' raised NameError", _fn("undefined_name\n")),
    "function module with a syntax error": Case(_sweep({}), 2, "objective.function: module 'userfn' has a syntax error at line 1", _fn("def (:\n")),
    "warm start from a study that does not exist": Case(_sweep({}), 2, "warm_start.from_study: no study 'ghost'", _config({"warm_start": {"from_study": "ghost"}})),
    "horizon of 1e29 months": Case(("report", "--config", "c.yaml"), 2, "roi.horizon_months", _config({"roi": {"horizon_months": 10**29}})),
    "billing amount that is not a number": Case(
        ("cost", "--source", "billing-file", "--file", "bill.csv"), 2, "--file: bill.csv: a value the FOCUS 1.x export should hold cannot be read",
        {"bill.csv": FOCUS_HEADER + "twelve,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,S3,USD,{}\n"},
    ),
    "billing date that is not a date": Case(
        ("cost", "--source", "billing-file", "--file", "bill.csv"), 2, "--file: bill.csv: a value the FOCUS 1.x export should hold cannot be read",
        {"bill.csv": FOCUS_HEADER + "1.00,yesterday,2026-10-01T01:00:00Z,S3,USD,{}\n"},
    ),
    "binary billing file": Case(("cost", "--source", "billing-file", "--file", "bill.csv"), 2, "--file: bill.csv is not a readable", {"bill.csv": bytes(range(256)) * 40}),
    "ui on port 99999": Case(("ui", "--port", "99999"), 2, "Invalid value for '--port': 99999 is not in the range"),
    "ui on an unknown scheme": Case(("ui", "--tracking-uri", "bogus://x"), 2, "tracking_uri: unknown scheme 'bogus'"),
    "grpc proxy on port 99999": Case(("grpc-proxy", "--port", "99999"), 2, "Invalid value for '--port': 99999 is not in the range"),
    "infinite bound": Case(_sweep({}), 2, "search_space.max_depth.high: Input should be a finite number", {"c.yaml": "search_space:\n  max_depth: {type: int, low: 1, high: .inf}\n"}),
    "NaN bound": Case(_sweep({}), 2, "search_space.max_depth.low: Input should be a finite number", {"c.yaml": "search_space:\n  max_depth: {type: float, low: .nan, high: 3}\n"}),
    "step of zero": Case(_sweep({}), 2, "search_space.max_depth.step: Input should be greater than 0", _config({"search_space": {"max_depth": {"type": "int", "low": 1, "high": 9, "step": 0}}})),
    "parameter the trainer does not take": Case(_sweep({}), 2, "search_space.depth: random_forest has no parameter 'depth'", _config({"search_space": {"depth": {"type": "int", "low": 1, "high": 9}}})),
    "value the trainer rejects": Case(_sweep({}), 2, "search_space.max_depth: random_forest rejects max_depth=0", _config({"search_space": {"max_depth": {"type": "int", "low": 0, "high": 9}}})),
    "grid of ten billion points": Case(
        _sweep({}), 2, "search_space: the grid has 10,000,000,000 points",
        _config({"strategy": "grid", "search_space": {n: {"type": "int", "low": 2, "high": 101} for n in ("n_estimators", "max_depth", "min_samples_leaf", "max_leaf_nodes", "min_samples_split")}}),
    ),
    "ray backend without Ray": Case(_sweep({}, "--backend", "ray"), 2, "execution.backend: ray needs Ray, which is not installed; pip install 'tracker-roi[ray]'", {**_config({}), "noray/ray/__init__.py": "raise ImportError(\"No module named 'ray'\")\n"}, env={"PYTHONPATH": "noray"}),
    "an unknown backend": Case(_sweep({}), 2, "execution.backend: got 'dask'; input should be 'local' or 'ray'", _config({"execution": {"backend": "dask"}})),
    "workers and jobs disagree": Case(_sweep({}, "--jobs", "2", "--workers", "3"), 2, "execution.workers (3) and limits.max_parallel (2) disagree", _config({})),
    "a Ray address nobody answers": Case(_sweep({}), 1, "cannot reach the Ray cluster at 127.0.0.1:9", _config({"execution": {"backend": "ray", "address": "127.0.0.1:9"}})),
    "a Ray address of no shape": Case(_sweep({}), 2, "execution.address: 'head-node' must be auto", _config({"execution": {"backend": "ray", "address": "head-node"}})),
    "seed beyond 2**32": Case(_sweep({}, "--seed", str(2**33)), 2, "seed: Input should be less than or equal to 4294967295", _config({})),
    "negative seed": Case(_sweep({}, "--seed", "-1"), 2, "seed: Input should be greater than or equal to 0", _config({})),
    "header-only CSV": Case(_sweep({}), 2, "data.csv has a header but no rows", {**_config({"objective": {"dataset": "data.csv", "target": "y"}}), "data.csv": "a,b,y\n"}),
    "a scalar where limits belongs": Case(_sweep({}), 2, "limits: expected a section of keys, got 5", {"c.yaml": "limits: 5\n"}),
    "a tag value that is a mapping": Case(_sweep({}), 2, "tags: the value of tag 'a' must be text or a number", _config({"tags": {"a": {"b": "c"}}})),
    "tracking server that is down": Case(("runs", "--tracking-uri", "http://127.0.0.1:{port}"), 1, "cannot reach the MLflow tracking server at http://127.0.0.1:"),
    "tracking server with a password that is down": Case(("runs", "--tracking-uri", "http://alice:hunter2@127.0.0.1:{port}"), 1, "http://alice:***@127.0.0.1:"),
    "mlflow.db that is not a database": Case(("runs",), 2, "mlflow.db is not an MLflow SQLite database", {"mlflow.db": "not a database " * 100}),
    "optuna.db that is not a database": Case(_sweep({}), 2, "storage: ", {"optuna.db": "not a database " * 100, "c.yaml": "{}\n"}),
    "storage URL with a slash missing": Case(_sweep({}, "--storage", "sqlite:/x.db"), 2, "storage: 'sqlite:/x.db' is neither a URL (scheme://...) nor a journal file's path", {"c.yaml": "{}\n"}),
    "storage of an unknown database kind": Case(_sweep({}, "--storage", "bogus://x"), 2, "storage: unknown database kind 'bogus'", {"c.yaml": "{}\n"}),
    "optuna.journal that is not a journal": Case(_sweep({}), 2, "optuna.journal is not an Optuna journal file", {"optuna.journal": "not a journal\n" * 100, "c.yaml": "{}\n"}),
    "unknown tracking URI scheme": Case(("runs", "--tracking-uri", "bogus://x"), 2, "tracking_uri: unknown scheme 'bogus'"),
    "YAML bomb under tags": Case(_sweep({}), 2, "c.yaml: the YAML expands to more than 100,000 values", {"c.yaml": BOMB + "\ntags: *i\n"}),
    "YAML bomb under strategy": Case(_sweep({}), 2, "c.yaml: the YAML expands to more than 100,000 values", {"c.yaml": BOMB + "\nstrategy: *i\n"}),
    "a long bad value is clipped": Case(_sweep({}), 2, "strategy: got 'xxxxxxxx", _config({"strategy": "x" * 100_000})),
    "unknown command": Case(("sweeep",), 2, "No such command 'sweeep'"),
    "horizon of yes months": Case(_sweep({}), 2, "roi.horizon_months: got true (yes, on), a YAML boolean, where a number is expected; give a number from 1 to 1200", {"c.yaml": "roi:\n  horizon_months: yes\n"}),
    "ramp-up of on months": Case(_sweep({}), 2, "roi.ramp_up_months: got true (yes, on), a YAML boolean", {"c.yaml": "roi:\n  ramp_up_months: on\n"}),
    "volume of 1e309": Case(_sweep({}), 2, "roi.predictions_per_month: 1E+309 is beyond the range the analysis computes with", {"c.yaml": "roi:\n  predictions_per_month: 1e309\n"}),
    "volume of 1e309 as text": Case(_sweep({}), 2, "roi.predictions_per_month: 1E+309 is beyond the range", {"c.yaml": "roi:\n  predictions_per_month: '1e309'\n"}),
    "a one-off cost of 1e400": Case(_sweep({}), 2, "roi.one_off_costs.0.amount: 1E+400 is beyond the range", _config({"roi": {"one_off_costs": [{"name": "x", "amount": "1e400"}]}})),
    "the JSON and the PDF in one file": Case(("report", "--json", "same.pdf", "--out", "same.pdf"), 2, "--out and --json both name same.pdf; give each its own file"),
    "the HTML and the PDF in one file by two spellings": Case(("realized", "--outcomes", "log.csv", "--html", "sub/../real.pdf", "--out", "real.pdf"), 2, "--out and --html both name sub/../real.pdf", {"log.csv": "timestamp,y_score\n"}),
    "cost window upside down": Case(("cost", "--start", "2026-12-01", "--end", "2026-11-01"), 2, "--end 2026-11-01 is before --start 2026-12-01"),
    "production window upside down": Case(("realized", "--outcomes", "log.csv", "--start", "2027-02-01", "--end", "2027-01-01"), 2, "--start 2027-02-01 is after --end 2027-01-01; swap them", {"log.csv": "timestamp,y_score\n"}),
    "a 2 MB config": Case(_sweep({}), 2, "c.yaml: 2,000,012 bytes is not a config file (the limit is 1,000,000)", {"c.yaml": "tags:\n  a: " + "x" * 2_000_000 + "\n"}),
    "inf in a feature column": Case(_sweep({}), 2, "data.csv has infinite values (inf) in b; replace or drop them", {**_config({"objective": {"dataset": "data.csv", "target": "y"}}), "data.csv": "a,b,y\n" + "1,2,0\n3,inf,1\n" * 20}),
    "unknown instance type": Case(_sweep({}), 2, "compute.instance_type: no price for 'ml.m5.xlargee'; did you mean ml.m5.xlarge", _config({"compute": {"instance_type": "ml.m5.xlargee"}})),
    "objective that calls sys.exit": Case(_sweep({}), 1, "every trial failed; the first error was: the objective called sys.exit(0)", _fn("import sys\ndef objective(trial):\n    sys.exit(0)\n"), summary=True),
    "metric name MLflow rejects": Case(
        _sweep({}), 1, "the first error was: TrackerError: metric 'bad?name' is a name MLflow refuses", _fn("def objective(trial):\n    return {'loss': 1.0, 'bad?name': 2.0}\n"), summary=True,
    ),
}  # fmt: skip


def _parquet_with_wrong_types(path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "BilledCost": pa.array([[1, 2]], pa.list_(pa.int64())),
                "ChargePeriodStart": ["2026-10-01T00:00:00Z"],
                "ChargePeriodEnd": ["2026-10-01T00:00:00Z"],
                "ServiceName": ["S3"],
                "BillingCurrency": ["USD"],
                "Tags": ["{}"],
            }
        ),
        path,
    )


def _running_runs(folder: Path) -> int:
    database = folder / "mlflow.db"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as con:
            return int(con.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0  # the case's own broken file


def _run(workdir: Path, case: Case) -> subprocess.CompletedProcess[str]:
    for name, content in case.files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    args = [a.replace("{port}", str(free_port())) for a in case.args]
    return subprocess.run(
        tracker_command(*args),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=case.timeout,
        env={
            **os.environ,
            **AWS_ENV,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **case.env,
        },
    )


def _check(workdir: Path, case: Case, done: subprocess.CompletedProcess[str]) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == case.exit_code, output[-2000:]
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output[-2000:]
    assert case.says in errors[0], errors[0]
    assert "Traceback" not in output
    shown = done.stderr if case.summary else output
    assert len(shown) <= 300, shown
    assert _running_runs(workdir) == 0
    # A flag the error names is one the command has: no advice that ends in "No such option".
    if case.args[0] in COMMANDS:
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", errors[0]):
            assert flag in _help(case.args[0]), f"{errors[0]!r} names {flag}, which `tracker {case.args[0]}` lacks"


COMMANDS = ("sweep", "runs", "cost", "report", "realized", "ui", "grpc-proxy")


@functools.cache
def _help(command: str) -> str:
    return subprocess.run(tracker_command(command, "--help"), capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_the_right_exit_code(workdir: Path, name: str) -> None:
    if name == "mlflow.db that is not a database":
        (workdir / "mlflow.db").unlink()
    case = CASES[name]
    _check(workdir, case, _run(workdir, case))


@pytest.mark.slow
def test_a_parquet_export_with_wrong_column_types(workdir: Path) -> None:
    _parquet_with_wrong_types(workdir / "bill.parquet")
    case = Case(("cost", "--source", "billing-file", "--file", "bill.parquet"), 2, "--file: bill.parquet")
    _check(workdir, case, _run(workdir, case))
