"""Run a sweep, a report and a realized run in this process, and print what they left changed.

Run as a script in a fresh interpreter (``tests/test_architecture.py`` does), from an
empty folder: the state of the process is taken *before* the first import of our
packages, and compared after the three. Third-party packages are imported first, since
importing them sets warnings filters and loggers of their own; whatever differs after
that was done by our code. Writes one JSON object to the file named second: what changed, by kind
(empty: nothing).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

# -- third-party imports: their own side effects happen here, before the snapshot ----------------------
import matplotlib
import mlflow
import mlflow.data.pandas_dataset
import mlflow.models
import mlflow.sklearn
import mlflow.store.db.utils  # noqa: F401 - the store's migrations log through it
import optuna
import pandas
import sklearn.ensemble
import sklearn.linear_model  # noqa: F401
import weasyprint  # noqa: F401


def snapshot() -> dict[str, Any]:
    loggers = {"": logging.getLogger().level}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            loggers[name] = logger.level
    return {
        "warnings.filters": [repr(f) for f in warnings.filters],
        "logger levels": loggers,
        "logger filters": {name: len(logging.getLogger(name).filters) for name in loggers},
        "matplotlib.rcParams": {key: repr(value) for key, value in matplotlib.rcParams.items()},
        "matplotlib backend": matplotlib.get_backend(),
        "sys.path": list(sys.path),
        "os.environ": dict(os.environ),
        "optuna verbosity": optuna.logging.get_verbosity(),
    }


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, old in before.items():
        new = after[kind]
        if isinstance(old, dict):
            changed = {k: [old.get(k), new.get(k)] for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
            if kind in ("logger levels", "logger filters"):
                # A logger made later by a third party starts at NOTSET with no filter: only set ones count.
                # MLflow's own migration scripts (named by their alembic revision) set their loggers' levels.
                changed = {
                    k: v
                    for k, v in changed.items()
                    if not (k not in old and (v[1] in (0, None) or re.fullmatch(r"[0-9a-f]{12}_\w+", k)))
                }
            if kind == "os.environ":
                # MLflow's telemetry keeps its session id here, and drops it when it turns itself off.
                changed = {k: v for k, v in changed.items() if not k.startswith("_MLFLOW_TELEMETRY")}
            if changed:
                out[kind] = changed
        elif old != new:
            out[kind] = [old, new]
    return out


def main(data: Path, out: str) -> None:
    pandas.set_option("display.width", pandas.get_option("display.width"))  # keep the import used
    before = snapshot()

    from decimal import Decimal

    from reports.publish import publish_report
    from reports.realized_report import build_realized, publish_realized
    from reports.roi_report import build_report
    from tracker.config import load_settings
    from tracker.record import Record
    from tuning.sweep import run_sweep

    # A function objective: its folder goes on sys.path for the import only.
    Path("myobjective.py").write_text("def objective(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    function = {"function": "myobjective:objective", "metric": "x", "direction": "maximize"}
    run_sweep(
        load_settings(overrides={"experiment": "fn", "objective": function, "limits.max_trials": 2}),
        hourly_usd=Decimal("0.23"),
    )
    shutil.copytree(data, "examples")
    settings = load_settings(
        Path("examples/marketing.yaml"), overrides={"limits.max_trials": 2, "roi.bootstrap_replicates": 50}
    )
    run_sweep(settings, hourly_usd=Decimal("0.23"))
    record = Record.open(settings.tracking_uri)
    report = build_report(settings, record=record)
    publish_report(report, pdf=Path("r.pdf"), html=Path("r.html"), json_path=Path("r.json"), record=record)
    # The development month and the production months in one folder: the plan and the months read one bill.
    Path("bills").mkdir()
    shutil.copy("examples/cur2-term-deposit-2026-11.csv", "bills")
    shutil.copy("examples/production/cur2-serving-2027-h1.csv", "bills")
    realized = build_realized(
        settings.model_copy(update={"cost": settings.cost.model_copy(update={"file": "bills"})}),
        Path("examples/production/term-deposit-2027.csv.gz"),
        record=record,
    )
    publish_realized(realized, pdf=Path("p.pdf"), html=Path("p.html"), json_path=Path("p.json"), record=record)
    assert Path("p.pdf").stat().st_size > 0
    Path(out).write_text(json.dumps(changes(before, snapshot()), indent=1, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
