"""The whole ROI report against reading the runs alone, for an experiment of 10,000 trial runs.

Builds an SQLite MLflow store holding one sweep of 10,000 trial runs (params, val_/test_
metrics, estimated cost) whose best run carries its predictions, and a CUR 2.0 export of a
year of daily spend over 20 services. Then, in this one process:

* ``mlflow.search_runs`` of the experiment, alone: the floor any report must pay;
* the whole report: reading the runs and the spend, the ROI model with its Monte Carlo at
  the default 1,000 replicates (ranged assumptions drawn, test and validation rows
  resampled, the threshold re-picked in each) and the sensitivity, three charts, the
  HTML, the PDF and the JSON, written.

Prints both times and their ratio. Goal: the whole report within 2x of reading the runs.

Run: python benchmarks/bench_report.py [--trials 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICES = [f"Service{i:02d}" for i in range(20)]


def make_store(folder: Path, trials: int) -> tuple[str, str]:
    """An experiment with one sweep of ``trials`` trial runs; returns (tracking URI, experiment)."""
    import random

    import pandas as pd

    from tracker.record import Record
    from tracker.record.writer import TrialRecorder
    from tracker.record.writes import TrialEnd, TrialStart

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    record = Record.open(uri)
    store = record.writes
    experiment_id = store.ensure_experiment("bench")
    parent = store.create_sweep_run(
        experiment_id,
        "bench",
        params={"strategy": "random", "max_trials": trials},
        tags={"project": "bench"},
        metric_key="val_f1",
        direction="maximize",
        task="classification",
    )
    recorder = TrialRecorder(uri)
    rng = random.Random(3)
    start = time.time() - trials * 2
    for number in range(trials):
        recorder.start(TrialStart(experiment_id, parent, number, start_time=start + number, tags={"project": "bench"}))
        score = rng.random()
        metrics = {
            f"{part}_{name}": score
            for part in ("val", "test")
            for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "tp", "fp", "fn", "tn")
        }
        metrics.update(duration_seconds=1.0, cost_usd_estimated=0.000064)
        params = {"n_estimators": rng.randint(20, 200), "max_depth": rng.randint(2, 16)}
        recorder.finish(number, TrialEnd("FINISHED", "COMPLETE", start + number + 1, params=params, metrics=metrics))
    recorder.flush()
    recorder.close()
    best = max(store.trial_runs(experiment_id, parent), key=lambda t: t.metrics["val_f1"])
    n = 452  # the size of the worked example's validation and test splits
    y_true = [1 if rng.random() < 0.37 else 0 for _ in range(2 * n)]
    score = [min(1.0, max(0.0, 0.6 * y + rng.random() * 0.6)) for y in y_true]
    frames = {
        part: pd.DataFrame(
            {
                "y_true": y_true[i : i + n],
                "y_pred": [int(s >= 0.5) for s in score[i : i + n]],
                "y_score": score[i : i + n],
            }
        )
        for part, i in (("val", 0), ("test", n))
    }
    record.artifacts.log_predictions(best.run_id, frames)
    store.close_sweep_run(parent, status="FINISHED", metrics={}, stop_reason="benchmark", best_run_id=best.run_id)
    return uri, "bench"


def make_spend(path: Path) -> None:
    """A year of daily spend over 20 services, as a CUR 2.0 export."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    rows = [(d, s) for d in days for s in SERVICES]
    pq.write_table(
        pa.table(
            {
                "bill_invoice_id": ["INV"] * len(rows),
                "line_item_usage_start_date": pa.array([f"{d.isoformat()}T00:00:00Z" for d, _ in rows]).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                "line_item_usage_end_date": pa.array([f"{d.isoformat()}T23:00:00Z" for d, _ in rows]).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                "line_item_product_code": [s for _, s in rows],
                "line_item_unblended_cost": [round(1 + (i % 97) * 0.37, 2) for i in range(len(rows))],
                "line_item_currency_code": ["USD"] * len(rows),
                "resource_tags": pa.array([[("user_project", "bench")]] * len(rows), pa.map_(pa.string(), pa.string())),
            }
        ),
        path,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    args = parser.parse_args()
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    from reports.render import render_html, render_pdf, write_atomic
    from reports.roi_report import build_report
    from tracker.config import load_settings
    from tracker.record import Record

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        began = time.perf_counter()
        uri, experiment = make_store(folder, args.trials)
        make_spend(folder / "cur.parquet")
        print(f"built {args.trials:,} trial runs and 7,300 spend lines in {time.perf_counter() - began:.0f} s")

        mlflow.set_tracking_uri(uri)
        experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
        mlflow.search_runs([experiment_id], max_results=10)  # warm the store's connection, for both sides
        start = time.perf_counter()
        frame = mlflow.search_runs([experiment_id], max_results=100_000)
        read_seconds = time.perf_counter() - start
        assert len(frame) == args.trials + 1, len(frame)

        config = folder / "report.yaml"
        config.write_text(
            f"experiment: {experiment}\ntracking_uri: {uri}\ntags: {{project: bench}}\n"
            f"cost: {{source: billing-file, file: {folder / 'cur.parquet'}, start: 2026-01-01, end: 2026-12-31, "
            "granularity: daily}\n"
            "roi: {action: {value_if_caught: {low: 80, likely: 120, high: 160}, success_rate: 0.75, "
            "action_cost: {low: 4, likely: 6, high: 9}}, production_positive_rate: {low: 0.05, likely: 0.08, "
            "high: 0.11}, predictions_per_month: {low: 1500, likely: 2000, high: 2500}, running_cost_per_month: 300, "
            "one_off_costs: [{name: people, amount: 9000}], ramp_up_months: 3}\n"
        )
        start = time.perf_counter()
        settings = load_settings(config)
        report = build_report(settings, record=Record.open(uri))
        html = render_html(report)
        write_atomic(folder / "report.html", html.encode())
        write_atomic(folder / "report.pdf", render_pdf(html, report))
        report_seconds = time.perf_counter() - start
    print(f"mlflow.search_runs alone ({args.trials + 1:,} runs): {read_seconds:6.2f} s")
    replicates = report.figures.uncertainty.replicates
    print(f"the whole report (runs, spend, ROI, {replicates:,}-replicate Monte Carlo, charts, HTML, PDF): "
          f"{report_seconds:6.2f} s")  # fmt: skip
    print(f"ratio: {report_seconds / read_seconds:.2f} (goal: at most 2)")
    h = report.figures.headline
    print(
        f"report: NPV {h.npv} USD, ROI {h.roi_percent}%, spend {report.figures.spend.total} USD over "
        f"{len(report.figures.spend.by_period)} days"
    )


if __name__ == "__main__":
    main()
