"""Plan against actual: a hand-worked three months to the cent, properties, and the real command."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from reports.alerts import psi, wilson
from reports.outcomes import MonthOutcomes
from reports.plan_vs_actual import Plan, realize
from tests.helpers import RAW_NUMBER, client, copy_store, pages_inside_margins, parent_runs, worked_example
from tracker.value import Confusion, OutcomeValues

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "production" / "term-deposit-2027.csv.gz"
SERVING = ROOT / "examples" / "production" / "cur2-serving-2027-h1.csv"

# Values TP 84, FP -6 (a call), FN = TN = 0; the plan assumed 8% positives, the test set's
# TPR 30/40 = 0.75 and FPR 20/160 = 0.125: 0.08 * 0.75 * 84 + 0.92 * 0.125 * -6 = 4.35 a prediction.
PLAN = Plan(
    task="classification",
    currency="USD",
    threshold=0.3,
    values=OutcomeValues(D(84), D(-6), D(0), D(0), D("0.08")),
    planned_rate=D("0.08"),
    test=Confusion(tp=30, fp=20, fn=10, tn=140),
    uplift_per_prediction=D("4.35"),
    value_per_unit_error=D(0),
    predictions_per_month=D(1000),
    running_cost_per_month=D(100),
    ramp_up_months=2,
    development_cost=D(2000),
    discount_rate_annual=D(0),
    test_bins=(10, 10, 10, 10),
    source="by hand",
)
# January and February partly labelled, March not at all. Each month: how many rows were flagged,
# the sums of their scores (flagged, and the rest) and of the squares, and the unlabelled rows'
# scores (flagged or not, rows, summed score). Labels arrive as if at random here.
MONTHS = [
    MonthOutcomes("2027-01", 600, 500, tp=30, fp=50, fn=10, tn=410, bins=(15, 15, 15, 15), flagged=100,
                  score_flagged=40.0, score_rest=14.0, score_squares=20.0,
                  unlabelled=((True, 20, 10.0), (False, 80, 4.0))),
    MonthOutcomes("2027-02", 1000, 800, tp=40, fp=80, fn=40, tn=640, bins=(40, 20, 20, 20), flagged=150,
                  score_flagged=45.0, score_rest=60.0, score_squares=30.0,
                  unlabelled=((True, 30, 5.0), (False, 170, 20.0))),
    MonthOutcomes("2027-03", 1000, 0, bins=(25, 25, 25, 25), flagged=120, score_flagged=36.5, score_rest=50.25,
                  score_squares=25.0, unlabelled=((True, 120, 36.5), (False, 880, 50.25))),
]  # fmt: skip
CONFIGURED = [(D(100), "configured")] * 3


def test_against_a_plan_that_called_everyone() -> None:
    # The plan's baseline calls everyone: 0.08 x 84 + 0.92 x -6 = 1.20 a prediction, so the
    # planned uplift is 4.35 - 1.20 = 3.15 a prediction.
    plan = replace(PLAN, baseline_share=D(1))
    assert plan.planned_uplift() == D("3.15")
    [january] = realize(plan, MONTHS[:1], CONFIGURED[:1]).months
    # Calling all 500 labelled clients: 40 x 84 + 460 x -6 = 600; the model's 2,220 is 1,620 more.
    assert january.realized_value == D(2220) and january.baseline_value == D(600)
    assert january.realized_uplift == D("1620.00")
    # The 100 unlabelled: 10 expected subscribers flagged, 10 calls wasted, 4 missed, 76 left alone.
    # The model: 10 x 84 - 10 x 6 = 780; calling all: 14 x 84 - 86 x 6 = 660; 120.00 more.
    assert january.estimated_uplift == D("120.00") and january.uplift == D("1740.00")
    # Half ramped, 500 planned predictions x 3.15; the gap's parts still add up.
    assert january.planned_uplift == D("1575.00")
    assert january.gap.total == january.uplift - january.planned_uplift


def test_three_months_by_hand() -> None:
    r = realize(PLAN, MONTHS, CONFIGURED)
    january, february, march = r.months
    assert PLAN.planned_uplift() == D("4.35")
    # January, half ramped: 500 planned predictions x 4.35.
    assert january.planned_uplift == D("2175.00") and january.planned_net == D("2075.00")
    # 30 x 84 + 50 x -6 = 2220 on the 500 labelled rows, the no-model baseline 0.
    assert january.realized_value == D(2220) and january.baseline_value == D(0)
    assert january.realized_uplift == D("2220.00")
    # The 100 unlabelled: 20 flagged whose scores sum to 10 (10 expected subscribers, 10 calls
    # wasted), 80 not flagged whose scores sum to 4 (4 missed, 76 rightly left alone).
    e = january.expected
    assert (e.tp, e.fp, e.fn, e.tn) == (D(10), D(10), D(4), D(76))
    assert january.estimated_uplift == D("780.00")  # 10 x 84 - 10 x 6
    assert january.uplift == D("3000.00") and january.net == D("2900.00")
    # 54 subscribers (40 known, 14 expected) in 600: 9%.
    assert january.positive_rate == D("0.09")
    # 100 more predictions than planned (435.00); at 9% the plan's model is worth
    # 0.09 x 0.75 x 84 + 0.91 x 0.125 x -6 = 4.9875 a prediction (382.50 over 600); quality the rest.
    gap = january.gap
    assert (gap.volume, gap.base_rate, gap.quality) == (D("435.00"), D("382.50"), D("7.50"))
    # February: 40 x 84 - 80 x 6 = 2880 labelled; 5 subscribers expected among the 30 unlabelled
    # flagged (5 x 84 - 25 x 6 = 270); the plan 4350.
    assert (february.realized_uplift, february.estimated_uplift) == (D("2880.00"), D("270.00"))
    assert february.uplift == D("3150.00") and february.planned_uplift == D(4350)
    assert february.gap.total == february.uplift - february.planned_uplift
    # March, nothing labelled: 36.5 of the 120 flagged expected to subscribe (36.5 x 84 - 83.5 x 6).
    assert march.labelled == 0 and march.realized_value == D(0)
    assert march.estimated_uplift == D("2565.00") and march.net == D("2465.00")
    assert (march.expected.fn, march.expected.tn) == (D("50.25"), D("829.75"))
    # Every other monthly figure, by hand.
    assert (january.share_labelled, february.share_labelled) == (D(500) / D(600), D("0.8"))
    assert (january.running_cost, february.running_cost) == (D("100.00"), D("100.00"))
    assert january.running_cost_basis == "configured"
    assert january.psi == pytest.approx(0.0)  # 15 a bin against 10 a bin: the same shares
    # 0.4 against 0.25 in the first bin, 0.2 against 0.25 in three: 0.15 ln 1.6 + 3 x 0.05 ln 1.25
    assert february.psi == pytest.approx(0.15 * 0.4700036 + 0.15 * 0.2231436, abs=1e-6)
    assert january.precision == wilson(30, 80) and february.recall == wilson(40, 80)
    assert january.recall == wilson(30, 40) and february.precision == wilson(40, 120)
    # To date, every month counts, the estimated part said: 2900 + 3050 + 2465 = 8415.
    t = r.to_date
    assert t.net == D("8415.00") and t.planned_net == D("10575.00")
    assert t.estimated == D("3615.00")  # 780 + 270 + 2565
    assert t.net_after_development == D("6415.00")
    assert t.roi is not None and t.roi.quantize(D("0.0001")) == D("2.7891")  # 6415 / (2000 + 300)
    assert t.npv == D("6415.00")  # at a 0% discount rate, the net after development
    assert t.payback_month == "2027-01"
    # 8415 against 10575 is beyond the 10% band (1057.50), but not beyond chance: one prediction's
    # value at the plan's rates spreads by about 20.1 (84 on 6% of them, -6 on 11.5%), so 2,600
    # predictions by 2.576 x 20.1 x 51 = 2,640 at 1% two-sided.
    assert 2600 < 2.576 * PLAN.uplift_spread() * 2600**0.5 < 2700
    assert t.status == "on plan"


def test_months_are_counted_by_the_calendar() -> None:
    # Deployed in December: January is month 2 of the ramp-up, a missing February is a month of
    # zero volume, and March is month 4 (fully ramped).
    empty = MonthOutcomes("2027-02", 0, 0, bins=(0, 0, 0, 0))
    r = realize(PLAN, [MONTHS[0], empty, MONTHS[2]], CONFIGURED, deployed="2026-12")
    assert [m.index for m in r.months] == [2, 3, 4]
    assert r.months[0].planned_uplift == D("4350.00")  # ramp-up over: 1000 x 4.35
    assert r.months[1].uplift == D(0) and r.months[1].net == D("-100.00")
    assert r.months[1].drift == "not judged"


def test_the_recommendation_names_its_reasons() -> None:
    # February alone, fully labelled: 10% positives against the plan's 8% (on 1,000, beyond chance),
    # and its scores all in the first bin.
    whole = replace(MONTHS[1], labelled=1000, tp=48, fp=102, fn=52, tn=798, bins=(997, 1, 1, 1))
    r = realize(PLAN, [whole], CONFIGURED[:1], positive_name="clients who subscribe")
    assert r.drift_status == "shifted" and r.recommendation == "retrain"
    assert any("shifted" in reason for reason in r.reasons)
    # Recall 48% against 75% on 40 test positives: worse beyond chance, so retrain.
    assert any(reason.startswith("The model catches only 48% of the clients who subscribe") for reason in r.reasons)
    steady = realize(PLAN, [replace(MONTHS[0], bins=(10, 10, 10, 10))], CONFIGURED[:1])
    assert steady.recommendation == "keep" and steady.drift_status == "stable"


def test_wilson_interval() -> None:
    value, low, high = wilson(8, 10) or (0, 0, 0)
    assert value == 0.8 and low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=2, max_size=20), st.integers(1, 50))
def test_identical_distributions_have_no_drift(counts: list[int], k: int) -> None:
    if sum(counts) == 0:
        return
    assert psi(counts, [c * k for c in counts]) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.integers(0, 200), st.integers(1, 200), st.integers(1, 400), st.integers(1, 20))
def test_outcomes_exactly_as_planned_realize_the_plan(tp: int, fp: int, fn: int, tn: int, k: int) -> None:
    test = Confusion(tp, fp, fn, tn)
    plan = replace(
        PLAN, test=test, planned_rate=test.positive_rate, predictions_per_month=D(test.n * k), ramp_up_months=0
    )
    month = MonthOutcomes(
        "2027-01", test.n * k, test.n * k, tp=tp * k, fp=fp * k, fn=fn * k, tn=tn * k, flagged=(tp + fp) * k
    )
    [m] = realize(plan, [month], CONFIGURED[:1]).months
    assert m.estimated_uplift == 0 and abs(m.uplift - m.planned_uplift) <= D("0.01")
    assert abs(m.gap.total) <= D("0.01")


# -- the command, on the worked example's production log ----------------------------------------------


def _worked_example(folder: Path, empty_store: Path, *, report: bool) -> Path:
    """The worked example swept (two trials), and reported when ``report``, in a template folder."""
    then = [["report", "--config", "marketing.yaml"]] if report else []
    return worked_example(folder, empty_store, trials=2, replicates=50, then=then)


@pytest.fixture(scope="module")
def _reported_store(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    """The worked example swept and reported, once per module."""
    return _worked_example(tmp_path_factory.mktemp("realized-template"), _empty_mlflow_db, report=True)


@pytest.fixture
def reported(workdir: Path, _reported_store: Path) -> Path:
    copy_store(_reported_store, workdir, "marketing.yaml", "roi.json")
    (workdir / "examples").symlink_to(_reported_store / "examples")
    return workdir / "marketing.yaml"


@pytest.mark.slow
def test_realized_on_the_worked_example(workdir: Path, invoke, reported: Path) -> None:
    result = invoke(
        "realized", "--config", reported, "--outcomes", LOG, "--file", SERVING, "--start", "2027-01-01",
        "--end", "2027-05-31",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "realized.json").read_text())
    assert data["schema"] == "tracker.realized-report/2"
    # Counted independently with the csv module: predictions and labels per month, June left out.
    want: dict[str, list[int]] = {}
    outside = 0
    with gzip.open(LOG, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            month = row["timestamp"][:7]
            if month == "2027-06":
                outside += 1
                continue
            counts = want.setdefault(month, [0, 0])
            counts[0] += 1
            counts[1] += row["y_true"] != ""
    assert {m["month"]: [m["predictions"], m["labelled"]] for m in data["months"]} == want
    assert data["input"]["rows_outside_window"] == outside
    for m in data["months"]:
        assert D(m["value"]) == D(m["realized_value"]) + D(m["estimated_value"])
        assert D(m["net"]) == D(m["value"]) - D(m["running_cost"])
        assert m["running_cost_basis"] == "billed"
        gap = m["gap"]
        assert D(gap["volume"]) + D(gap["base_rate"]) + D(gap["quality"]) == D(m["value"]) - D(m["planned_value"])
    # Months are counted from the deployment month, the log's first: January is month 1.
    assert [m["index"] for m in data["months"]] == [1, 2, 3, 4, 5]
    assert data["plan"]["deployed_month"] == "2027-01" and data["input"]["full"] is False
    # The running cost is the serving tag's billed spend that month (usage and tax).
    january = D(0)
    with SERVING.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if "term-deposit-serving" in row["resource_tags"] and row["line_item_usage_start_date"][:7] == "2027-01":
                january += D(row["line_item_unblended_cost"])
    assert D(data["months"][0]["running_cost"]) == january.quantize(D("0.01"))
    # The plan is the report that was logged on the sweep, and the threshold is its threshold.
    roi = json.loads((workdir / "roi.json").read_text())
    assert data["plan"]["threshold"] == roi["decision"]["threshold"]
    assert "logged on run" in data["plan"]["source"]

    # On a child run of the sweep, named realized: the months as metric steps. A chosen window is
    # not the model's standing to date, so its registry version keeps no realized tags.
    [parent] = parent_runs("term-deposit-calls")

    def realized_runs() -> list:
        return client().search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' and tags.`tracker.role` = 'realized'",
        )

    [run] = realized_runs()
    assert run.info.run_name == "realized" and run.info.status == "FINISHED"
    history = client().get_metric_history(run.info.run_id, "monthly_net")
    assert [(h.step, h.value) for h in history] == [(m["index"], float(m["net"])) for m in data["months"]]
    version = client().get_model_version_by_alias("term-deposit-calls", "champion")
    assert "drift_status" not in version.tags and "realized_roi_to_date" not in version.tags
    # The PDF says what the JSON says, and carries it; every table and chart inside the margins,
    # and no raw decimals.
    pages = pages_inside_margins(workdir / "realized.pdf")
    assert not RAW_NUMBER.findall("\n".join(pages)), RAW_NUMBER.findall("\n".join(pages))[:5]
    reader = PdfReader(workdir / "realized.pdf")
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert f"{D(data['to_date']['net']):,.2f}" in text and data["headline"]["recommendation"].capitalize() in text
    assert json.loads(reader.attachments["realized.json"][0]) == data

    # The whole log, from the deployment month: June (30% labelled) is estimated, and the model's
    # version carries its standing.
    whole = invoke("realized", "--config", reported, "--outcomes", LOG, "--file", SERVING)
    assert whole.exit_code == 0, whole.output
    data = json.loads((workdir / "realized.json").read_text())
    june = data["months"][-1]
    assert june["month"] == "2027-06" and june["value_estimated"] and D(june["estimated_value"]) != 0
    # From March, six clients in ten come from the cold list (contact "unknown"): the feature that
    # moved most, and named among the reasons whenever the scores drifted.
    moved = data["drift"]["features"]
    assert moved[0]["name"] == "contact" and moved[0]["detail"].startswith("'unknown'"), moved[:3]
    if data["drift"]["status"] in ("watch", "shifted"):
        assert any(r.startswith("The inputs that moved most in 2027-06: contact") for r in data["headline"]["reasons"])
    version = client().get_model_version_by_alias("term-deposit-calls", "champion")
    assert version.tags["drift_status"] == data["drift"]["status"]
    assert version.tags["realized_roi_to_date"] == (data["to_date"]["roi_percent"] or "undefined")
    # A rerun replaces the months' steps: one realized run, one value a month, the trials untouched.
    [run] = realized_runs()
    history = client().get_metric_history(run.info.run_id, "monthly_psi")
    assert [h.step for h in history] == [1, 2, 3, 4, 5, 6]
    # --no-log writes the files and leaves MLflow as it was.
    before = (run.info.run_id, dict(client().get_model_version_by_alias("term-deposit-calls", "champion").tags))
    dry = invoke("realized", "--config", reported, "--outcomes", LOG, "--file", SERVING, "--end", "2027-03-31",
                 "--no-log", "--json", "dry.json", "--out", "dry.pdf", "--html", "dry.html")  # fmt: skip
    assert dry.exit_code == 0 and "nothing logged to MLflow" in dry.output, dry.output
    [same] = realized_runs()
    after = (same.info.run_id, dict(client().get_model_version_by_alias("term-deposit-calls", "champion").tags))
    assert after == before and json.loads((workdir / "dry.json").read_text())["input"]["logged"] is False


@pytest.fixture(scope="module")
def _swept_store(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    """The worked example swept, with no report logged, once per module."""
    return _worked_example(tmp_path_factory.mktemp("realized-unreported"), _empty_mlflow_db, report=False)


@pytest.mark.slow
def test_without_a_logged_report_the_plan_is_computed_without_charts_or_a_pdf(
    workdir: Path, _swept_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reports.charts
    import reports.render
    from reports.realized_report import build_realized
    from tracker.config import load_settings
    from tracker.record import Record

    copy_store(_swept_store, workdir, "marketing.yaml")
    (workdir / "examples").symlink_to(_swept_store / "examples")

    def refuse(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("the ROI report's charts or PDF were made for the plan")

    for name in ("progress_chart", "tornado_chart"):
        monkeypatch.setattr(reports.charts, name, refuse)
    for name in ("render_html", "render_pdf"):
        monkeypatch.setattr(reports.render, name, refuse)
    # The plan's development month (November 2026) and the production months, side by side in one folder.
    bills = workdir / "bills"
    bills.mkdir()
    shutil.copy(ROOT / "examples" / "cur2-term-deposit-2026-11.csv", bills)
    shutil.copy(SERVING, bills)
    settings = load_settings(workdir / "marketing.yaml", {"cost.file": str(bills)})
    report = build_realized(settings, LOG, record=Record.open(settings.tracking_uri))
    assert report.figures.plan.source.startswith("computed from the config")
    assert report.figures.plan.threshold is not None and len(report.figures.months) == 6
    assert set(report.charts) == {"cumulative", "psi"}  # the realized report's own charts only


HEAD = "timestamp,y_score,y_true\n"
ROWS = "".join(f"2027-01-{day:02d}T10:00:00Z,{score},{truth}\n" for day, score, truth in
               [(2, 0.8, 1), (3, 0.05, 0), (4, 0.3, ""), (5, 0.02, 0)])  # fmt: skip


def _parquet(**columns: list[object]) -> bytes:
    """A Parquet file of these columns; a float NaN stays NaN (pandas would store it as null)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({name: pa.array(values, from_pandas=False) for name, values in columns.items()}), buffer)
    return buffer.getvalue()


# Each bad log: its files (a name ending in / is a folder), the flags, and what the one line says.
BAD_LOGS: dict[str, tuple[dict[str, str | bytes], tuple[str, ...], str]] = {
    "no score column": ({"log.csv": "timestamp,y_true\n2027-01-01T00:00:00Z,1\n"}, (), "has no column 'y_score'"),
    "a timestamp that is not one": (
        {"log.csv": HEAD + "yesterday,0.5,1\n"}, (), "timestamp 'yesterday' is not a date and time"),
    "no rows": ({"log.csv": HEAD}, (), "has no rows"),
    "an outcome that is not 0/1": (
        {"log.csv": HEAD + "2027-01-01T00:00:00Z,0.5,maybe\n"}, (), "y_true 'maybe' is not a number"),
    "a NaN score in text": (
        {"log.csv": HEAD + ROWS + "2027-01-09T10:00:00Z,nan,1\n"}, (),
        "1 rows have a y_score that is not a finite number (first: 'nan')"),
    "an infinite score": (
        {"log.csv": HEAD + ROWS + "2027-01-09T10:00:00Z,inf,\n"}, (), "y_score that is not a finite number"),
    "a NaN score in Parquet": (
        {"log.parquet": _parquet(timestamp=["2027-01-02T10:00:00Z"] * 2, y_score=[0.4, float("nan")],
                                 y_true=[1.0, None])},
        (), "1 rows have a y_score that is not a finite number"),
    "a missing score": ({"log.csv": HEAD + ROWS + "2027-01-09T10:00:00Z,,1\n"}, (), "1 rows have no y_score"),
    "percentages read as probabilities": (
        {"log.csv": HEAD + "2027-01-02T10:00:00Z,55,1\n2027-01-03T10:00:00Z,3,0\n"}, (),
        "2 y_score values lie outside [0, 1] (from 3 to 55); pass --score-scale percent"),
    "log-odds read as probabilities": (
        {"log.csv": HEAD + "2027-01-02T10:00:00Z,-2.5,1\n"}, (), "pass --score-scale percent (0 to 100) or logit"),
    "percentages over 100": (
        {"log.csv": HEAD + "2027-01-02T10:00:00Z,150,1\n"}, ("--score-scale", "percent"),
        "they are not percents either"),
    "a repeated id": (
        {"log.csv": "timestamp,id,y_score,y_true\n2027-01-02T10:00:00Z,a,0.4,1\n2027-01-03T10:00:00Z,a,0.4,1\n"},
        (), "1 predictions repeat an id (id 'a' appears 2 times); pass --dedupe"),
    "CSV and Parquet side by side": (
        {"logs/": "", "logs/a.csv": HEAD + ROWS,
         "logs/b.parquet": _parquet(timestamp=["2027-02-02T10:00:00Z"], y_score=[0.4], y_true=[1.0])},
        (), "holds 1 CSV and 1 Parquet files; keep one kind"),
    "two model versions": (
        {"log.csv": "timestamp,model_version,y_score,y_true\n2027-01-02T10:00:00Z,1,0.4,1\n"
                    "2027-01-03T10:00:00Z,2,0.4,0\n"},
        (), "predictions of 2 model versions ('1', '2'); each has its own plan: choose one with --model-version"),
    "a version the log does not hold": (
        {"log.csv": "timestamp,model_version,y_score,y_true\n2027-01-02T10:00:00Z,1,0.4,1\n"},
        ("--model-version", "7"), "--model-version '7' is not in"),
    "a version asked of a log without versions": (
        {"log.csv": HEAD + ROWS}, ("--model-version", "1"), "--model-version needs a model_version column"),
    "a window that holds none of it": (
        {"log.csv": HEAD + ROWS}, ("--start", "2028-01-01"),
        "falls between 2028-01-01 and the end (4 outside); widen --start/--end"),
    "decisions that are not 0/1": (
        {"log.csv": "timestamp,y_pred,y_true\n2027-01-02T10:00:00Z,0.4,1\n"}, (),
        "1 y_pred values lie outside [0, 1] (from 0.4 to 0.4); a classifier's y_pred is its decision, 0 or 1"),
}  # fmt: skip


def _write(folder: Path, files: dict[str, str | bytes]) -> str:
    for name, content in files.items():
        if name.endswith("/"):
            (folder / name).mkdir()
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    return next(iter(files)).rstrip("/")


@pytest.mark.slow
def test_a_bad_production_log_is_one_line(workdir: Path, invoke, reported: Path) -> None:
    (workdir / "realized.pdf").write_bytes(b"the previous good report")
    for case, (files, flags, says) in BAD_LOGS.items():
        case_folder = workdir / case.replace(" ", "-").replace("/", "-")
        case_folder.mkdir()
        log = _write(case_folder, files)
        result = invoke("realized", "--config", reported, "--outcomes", case_folder / log, *flags)
        assert result.exit_code == 2, (case, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], (case, result.output)
    missing = invoke("realized", "--config", reported, "--outcomes", "nowhere.csv")
    assert missing.exit_code == 2 and "--outcomes: nowhere.csv does not exist" in missing.output
    assert (workdir / "realized.pdf").read_bytes() == b"the previous good report"  # nothing lost


@pytest.mark.slow
def test_calendar_and_bill_gaps_are_said(workdir: Path, invoke, reported: Path) -> None:
    import yaml

    # A prediction before the deployment month is an error naming both.
    config = yaml.safe_load(reported.read_text())
    config["realized"] = {"deployed_on": "2027-02-01"}
    (workdir / "deployed.yaml").write_text(yaml.safe_dump(config))
    (workdir / "log.csv").write_text(HEAD + ROWS)
    early = invoke("realized", "--config", "deployed.yaml", "--outcomes", "log.csv", "--no-log")
    assert early.exit_code == 2 and len(early.output.strip().splitlines()) == 1, early.output
    assert "realized.deployed_on is 2027-02-01, but the production log starts in 2027-01" in early.output
    # Deployed in December: January is month 2; a February without predictions is a month of
    # zero volume; a serving bill without March is warned in the terminal and on page 1.
    config["realized"] = {"deployed_on": "2026-12-15"}
    (workdir / "deployed.yaml").write_text(yaml.safe_dump(config))
    (workdir / "log.csv").write_text(HEAD + ROWS + "2027-03-02T10:00:00Z,0.6,\n")
    with SERVING.open() as bill:
        kept = [line for n, line in enumerate(bill) if n == 0 or not line.split(",")[1].startswith("2027-03")]
    (workdir / "bill.csv").write_text("".join(kept))
    result = invoke("realized", "--config", "deployed.yaml", "--outcomes", "log.csv", "--file", "bill.csv", "--no-log")
    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "realized.json").read_text())
    assert [(m["month"], m["index"], m["predictions"]) for m in data["months"]] == [
        ("2027-01", 2, 4),
        ("2027-02", 3, 0),
        ("2027-03", 4, 1),
    ]
    assert data["months"][2]["running_cost_basis"] == "billed: none found"
    warned = [line for line in result.output.splitlines() if line.startswith("warning: No bill line")]
    assert warned and "2027-03" in warned[0], result.output
    assert any("No predictions in 2027-02" in w for w in data["warnings"])
    page_1 = " ".join(PdfReader(workdir / "realized.pdf").pages[0].extract_text().split())
    assert "No bill line for the serving tags in 2027-03" in page_1


@pytest.mark.slow
def test_what_the_door_lets_in_is_counted(workdir: Path, invoke, reported: Path) -> None:
    def run(log: str, *flags: str) -> dict:
        (workdir / "log.csv").write_text(log)
        result = invoke("realized", "--config", reported, "--outcomes", "log.csv", "--no-log", *flags)
        assert result.exit_code == 0, result.output
        return json.loads((workdir / "realized.json").read_text())

    plain = run(HEAD + ROWS)
    # The same scores as percentages, or as log-odds, give the same months to the cent.
    percent = "".join(f"2027-01-{d:02d}T10:00:00Z,{s * 100:g},{t}\n" for d, s, t in
                      [(2, 0.8, 1), (3, 0.05, 0), (4, 0.3, ""), (5, 0.02, 0)])  # fmt: skip
    assert run(HEAD + percent, "--score-scale", "percent")["months"] == plain["months"]
    # A repeated id, kept once (its latest row) and counted.
    repeated = "timestamp,id,y_score,y_true\n2027-01-02T10:00:00Z,a,0.9,\n2027-01-20T10:00:00Z,a,0.9,1\n"
    deduped = run(repeated + "2027-01-03T10:00:00Z,b,0.1,0\n", "--dedupe")
    assert deduped["input"]["repeats_dropped"] == 1 and deduped["months"][0]["predictions"] == 2
    assert deduped["months"][0]["tp"] == 1  # the latest row of id a, with its outcome
    # One model version of two.
    versions = "timestamp,model_version,y_score,y_true\n2027-01-02T10:00:00Z,1,0.4,1\n2027-01-03T10:00:00Z,2,0.4,0\n"
    only = run(versions, "--model-version", "2")
    assert only["months"][0]["predictions"] == 1 and only["input"]["model_version"] == "2"
    # A log of decisions: drift on the decision rate (two bins), not on score deciles.
    decisions = run("timestamp,y_pred,y_true\n" + "".join(
        f"2027-01-{d:02d}T10:00:00Z,{d % 2},{''}\n" for d in range(1, 29)))  # fmt: skip
    assert decisions["drift"]["basis"] == "decision rate"
    assert D(decisions["months"][0]["psi"]) < 2  # against the test set's decision rate, not its deciles


def test_a_regression_log_by_hand(tmp_path: Path) -> None:
    from reports.outcomes import read_outcomes

    (tmp_path / "log.csv").write_text(
        "timestamp,y_pred,y_true\n"
        "2027-01-05T10:00:00Z,12,11\n"  # model off by 1, the training mean (10) by 1
        "2027-01-20T10:00:00+01:00,7,4\n"  # 09:00 UTC; off by 3 and by 6
        "2027-02-01T00:00:00Z,9,\n"  # not known yet
        "2026-12-31T23:59:59Z,1,1\n"  # before the window
    )
    outcomes = read_outcomes(
        tmp_path / "log.csv", task="regression", threshold=None, bin_edges=[8.0], train_mean=10.0,
        start=date(2027, 1, 1),
    )  # fmt: skip
    january, february = outcomes.months
    assert outcomes.outside_window == 1
    assert (january.predictions, january.labelled, january.bins) == (2, 2, (1, 1))
    assert (january.model_abs_error, january.baseline_abs_error) == (D(4), D(7))
    assert (february.predictions, february.labelled) == (1, 0)
    plan = replace(PLAN, task="regression", values=None, uplift_per_prediction=D(3), value_per_unit_error=D(2),
                   ramp_up_months=0, predictions_per_month=D(2), test_bins=(1, 1))  # fmt: skip
    [m, _] = realize(plan, outcomes.months, CONFIGURED[:2]).months
    # 2 x (7 - 4) avoided error units on 2 labelled of 2 predictions: 6.00; planned 2 x 3 = 6.00.
    assert m.realized_uplift == D("6.00") and m.planned_uplift == D("6.00")
    assert m.gap is not None and m.gap.total == D(0)


@pytest.mark.slow
def test_a_month_estimated_before_its_labels_arrive_against_its_truth(
    workdir: Path, invoke, reported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped champion scores 2,000 clients it never saw; 80% of the subscribers' outcomes and
    25% of the others' have arrived. The estimated month is within 15% of the month with every
    outcome known; scaling the labelled rows up is not."""
    import mlflow
    import numpy as np
    import pandas as pd

    data = ROOT / "examples" / "data"
    full = pd.read_csv(data / "bank-full.csv.gz", sep=";")
    seen = pd.read_csv(data / "bank.csv.gz", sep=";")
    held_out = full.merge(seen.drop_duplicates(), how="left", indicator=True)
    held_out = held_out[held_out["_merge"] == "left_only"].drop(columns="_merge")
    clients = held_out.sample(2000, random_state=2027)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
    model = mlflow.sklearn.load_model("models:/term-deposit-calls@champion")
    scores = model.predict_proba(clients.drop(columns=["y", "duration"]))[:, 1]
    subscribed = (clients["y"] == "yes").to_numpy()
    rng = np.random.default_rng(7)
    arrived = np.where(subscribed, rng.random(len(clients)) < 0.8, rng.random(len(clients)) < 0.25)
    stamps = pd.date_range("2027-01-01", "2027-01-31T23:00:00", periods=len(clients), tz="UTC")

    def month(known: np.ndarray) -> dict:
        truth = np.where(known, subscribed.astype(int).astype(str), "")
        log = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "y_score": scores, "y_true": truth})
        log.to_csv(workdir / "log.csv", index=False)
        result = invoke("realized", "--config", reported, "--outcomes", "log.csv", "--no-log")
        assert result.exit_code == 0, result.output
        return json.loads((workdir / "realized.json").read_text())["months"][0]

    truth, partly = month(np.ones(len(clients), dtype=bool)), month(arrived)
    assert partly["share_labelled"] != "1.0000" and partly["value_estimated"]
    value, estimate = D(truth["value"]), D(partly["value"])
    naive = D(partly["realized_value"]) * partly["predictions"] / partly["labelled"]
    assert abs(estimate / value - 1) <= D("0.15"), (estimate, value)
    assert abs(naive / value - 1) > D("0.15"), (naive, value)


@pytest.mark.slow
def test_the_worked_examples_own_test_set_rarely_says_retrain(workdir: Path, reported: Path) -> None:
    """Months of 2,000 resampled from the champion's own test set: retrain at most 5% of them;
    with the share of subscribers doubled, flagged in at least 80%."""
    from tests.test_realized_decisions import MONTHS_DRAWN, simulate
    from tracker.record import Record

    record = Record.open(f"sqlite:///{workdir / 'mlflow.db'}")
    version = client().get_model_version_by_alias("term-deposit-calls", "champion")
    test = record.artifacts.load_predictions(version.run_id, "test")
    assert test is not None
    scores, truth = test["y_score"].to_numpy(dtype=float), test["y_true"].to_numpy(dtype=int)
    threshold = float(json.loads((workdir / "roi.json").read_text())["decision"]["threshold"])
    healthy = simulate(scores, truth, rate_factor=1.0, seed=21, threshold=threshold)
    assert healthy["retrain"] <= 0.05 * MONTHS_DRAWN, healthy
    doubled = simulate(scores, truth, rate_factor=2.0, seed=22, threshold=threshold)
    assert doubled["watch"] + doubled["retrain"] >= 0.8 * MONTHS_DRAWN, doubled
