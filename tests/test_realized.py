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

from reports.outcomes import MonthOutcomes
from reports.plan_vs_actual import Plan, psi, realize, wilson
from tests.helpers import client, copy_store, parent_runs, worked_example
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
MONTHS = [
    MonthOutcomes("2027-01", 600, 500, tp=30, fp=50, fn=10, tn=410, bins=(15, 15, 15, 15)),
    MonthOutcomes("2027-02", 1000, 800, tp=40, fp=80, fn=40, tn=640, bins=(40, 20, 20, 20)),
    MonthOutcomes("2027-03", 1000, 0, bins=(25, 25, 25, 25)),
]
CONFIGURED = [(D(100), "configured")] * 3


def test_against_a_plan_that_called_everyone() -> None:
    # The plan's baseline calls everyone: 0.08 x 84 + 0.92 x -6 = 1.20 a prediction, so the
    # planned uplift is 4.35 - 1.20 = 3.15 a prediction.
    plan = replace(PLAN, baseline_share=D(1))
    assert plan.planned_uplift() == D("3.15")
    [january] = realize(plan, MONTHS[:1], CONFIGURED[:1]).months
    # Calling all 500 labelled clients: 40 x 84 + 460 x -6 = 600; the model's 2,220 is 1,620 more.
    assert january.realized_value == D(2220) and january.baseline_value == D(600)
    assert january.realized_uplift == D("1944.00")  # 1,620 x 600 / 500
    # Half ramped, 500 planned predictions x 3.15; the gap's parts still add up.
    assert january.planned_uplift == D("1575.00")
    assert january.gap is not None and january.gap.total == january.realized_uplift - january.planned_uplift


def test_three_months_by_hand() -> None:
    r = realize(PLAN, MONTHS, CONFIGURED)
    january, february, march = r.months
    assert PLAN.planned_uplift() == D("4.35")
    # January, half ramped: 500 planned predictions x 4.35.
    assert january.planned_uplift == D("2175.00") and january.planned_net == D("2075.00")
    # 30 x 84 + 50 x -6 = 2220 on 500 labelled rows, the no-model baseline 0; 600 predictions.
    assert january.realized_value == D(2220) and january.baseline_value == D(0)
    assert january.realized_uplift == D("2664.00") and january.realized_net == D("2564.00")
    # 100 more predictions than planned (435.00); the plan's 8% rate (0.00); the rest is quality (54.00).
    gap = january.gap
    assert gap is not None
    assert (gap.volume, gap.base_rate, gap.quality) == (D("435.00"), D("0.00"), D("54.00"))
    # February: 40 x 84 - 80 x 6 = 2880 on 800 rows, x 1000/800 = 3600; the plan 4350.
    assert february.realized_uplift == D(3600) and february.planned_uplift == D(4350)
    assert february.positive_rate == D("0.1")
    gap = february.gap
    assert gap is not None
    # At 10% positives the plan's model is worth 0.1 x 0.75 x 84 + 0.9 x 0.125 x -6 = 5.625 a prediction.
    assert (gap.volume, gap.base_rate, gap.quality) == (D(0), D("1275.000"), D("-2025.000"))
    assert gap.total == february.realized_uplift - february.planned_uplift
    # Every other monthly figure, by hand.
    assert (january.share_labelled, february.share_labelled) == (D(500) / D(600), D("0.8"))
    assert (january.running_cost, february.running_cost) == (D("100.00"), D("100.00"))
    assert (february.realized_net, february.planned_net) == (D("3500.00"), D("4250.00"))
    assert january.positive_rate == D("0.08")
    assert january.psi == pytest.approx(0.0)  # 15 a bin against 10 a bin: the same shares
    # 0.4 against 0.25 in the first bin, 0.2 against 0.25 in three: 0.15 ln 1.6 + 3 x 0.05 ln 1.25
    assert february.psi == pytest.approx(0.15 * 0.4700036 + 0.15 * 0.2231436, abs=1e-6)
    assert january.precision == wilson(30, 80) and february.recall == wilson(40, 80)
    assert january.running_cost_basis == "configured"
    # March: no labels yet, so nothing realized, and the to-date figures leave it out.
    assert march.realized_uplift is None and march.realized_net is None and march.gap is None
    t = r.to_date
    assert t.realized_net == D("6064.00") and t.planned_net == D("6325.00")
    assert t.net_after_development == D("4064.00")
    assert t.roi is not None and t.roi.quantize(D("0.0001")) == D("1.8473")  # 4064 / (2000 + 200)
    assert t.npv == D("4064.00")  # at a 0% discount rate, the net after development
    assert t.payback_month == "2027-01" and t.status == "on plan"  # 6064 is within 10% of 6325
    # The drift: February's scores moved into the first bin.
    assert march.psi == pytest.approx(0.0) and february.psi > january.psi
    assert january.recall == wilson(30, 40) and february.precision == wilson(40, 120)


def test_the_recommendation_names_its_reasons() -> None:
    # February alone: 10% positives against the plan's 8%, and its scores all in the first bin.
    shifted = [replace(MONTHS[1], bins=(97, 1, 1, 1))]
    r = realize(PLAN, shifted, CONFIGURED[:1], positive_name="clients who subscribe")
    assert r.drift_status == "shifted" and r.recommendation == "retrain"
    assert any("shifted" in reason for reason in r.reasons)
    assert any(reason.startswith("The share of clients who subscribe has risen from 8.0%") for reason in r.reasons)
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
    month = MonthOutcomes("2027-01", test.n * k, test.n * k, tp=tp * k, fp=fp * k, fn=fn * k, tn=tn * k)
    [m] = realize(plan, [month], CONFIGURED[:1]).months
    assert m.realized_uplift is not None
    assert abs(m.realized_uplift - m.planned_uplift) < D("1e-18")
    assert m.gap is not None and abs(m.gap.total) < D("1e-18")


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
    assert data["schema"] == "tracker.realized-report/1"
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
        assert D(m["realized_net"]) == D(m["realized_value"]) - D(m["running_cost"])
        assert m["running_cost_basis"] == "billed"
        gap = m["gap"]
        assert D(gap["volume"]) + D(gap["base_rate"]) + D(gap["quality"]) == D(m["realized_value"]) - D(
            m["planned_value"]
        )
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

    # On the sweep's parent run: the months as metric steps; on the model's version: its standing.
    [parent] = parent_runs("term-deposit-calls")
    history = client().get_metric_history(parent.info.run_id, "monthly_realized_net")
    assert [(h.step, h.value) for h in history] == [(m["index"], float(m["realized_net"])) for m in data["months"]]
    version = client().get_model_version_by_alias("term-deposit-calls", "champion")
    assert version.tags["drift_status"] == data["drift"]["status"]
    assert version.tags["realized_roi_to_date"] == (data["to_date"]["roi_percent"] or "undefined")
    # The PDF says what the JSON says, and carries it.
    reader = PdfReader(workdir / "realized.pdf")
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert data["to_date"]["realized_net"] in text and data["headline"]["recommendation"].capitalize() in text
    assert json.loads(reader.attachments["realized.json"][0]) == data


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


BAD_LOGS = [
    ("timestamp,y_true\n2027-01-01T00:00:00Z,1\n", "has no column 'y_score'"),
    ("timestamp,y_score,y_true\nyesterday,0.5,1\n", "timestamp 'yesterday' is not a date and time"),
    ("timestamp,y_score,y_true\n", "has no rows"),
    ("timestamp,y_score,y_true\n2027-01-01T00:00:00Z,0.5,maybe\n", "y_true 'maybe' is not a number"),
]


@pytest.mark.slow
def test_a_bad_production_log_is_one_line(workdir: Path, invoke, reported: Path) -> None:
    (workdir / "realized.pdf").write_bytes(b"the previous good report")
    for content, says in BAD_LOGS:
        (workdir / "log.csv").write_text(content)
        result = invoke("realized", "--config", reported, "--outcomes", "log.csv")
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], result.output
    missing = invoke("realized", "--config", reported, "--outcomes", "nowhere.csv")
    assert missing.exit_code == 2 and "--outcomes: nowhere.csv does not exist" in missing.output
    assert (workdir / "realized.pdf").read_bytes() == b"the previous good report"  # nothing lost


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
