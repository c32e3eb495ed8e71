"""`tracker report` end to end: sweep, cost, report; the PDF read back; injection; each fault."""

from __future__ import annotations

import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from tests.helpers import as_printed, client, copy_store, parent_runs, swept_template

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = (
    "npv",
    "npv_p10",
    "npv_p90",
    "roi_percent",
    "net_benefit",
    "monthly_benefit",
    "development_cost",
    "payback_months",
    "probability_npv_positive",
)


def _config(folder: Path, **changes: object) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "classification.yaml").read_text())
    data["limits"]["max_trials"] = 4
    data["completion"] = {}
    data["roi"]["bootstrap_replicates"] = 200
    data["cost"] = {"source": "estimate"}
    for key, value in changes.items():
        data[key] = value
    path = folder / "report.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def _swept_store(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    folder = tmp_path_factory.mktemp("report-template")
    config = _config(folder)
    return swept_template(folder, _empty_mlflow_db, [["sweep", "--config", str(config), "--quiet"]])


@pytest.fixture
def swept(workdir: Path, _swept_store: Path) -> Path:
    """A swept store of the report's config: swept once per module, copied for each test."""
    copy_store(_swept_store, workdir)
    return _config(workdir)


@pytest.mark.slow
def test_sweep_cost_report_end_to_end(workdir: Path, invoke, swept: Path) -> None:
    cost = invoke("cost", "--config", swept, "--source", "estimate", "--format", "json")
    assert cost.exit_code == 0, cost.output
    spend = json.loads(cost.output)

    result = invoke("report", "--config", swept, "--source", "estimate")
    assert result.exit_code == 0, result.output
    figures = json.loads((workdir / "roi.json").read_text())
    headline = figures["headline"]
    # The spend the report used is the one `tracker cost` printed, to the cent.
    assert Decimal(headline["development_cost"]) == Decimal(spend["total"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert figures["spend"]["total_exact"] == spend["total"]
    assert figures["schema"] == "tracker.roi-report/3"
    assert headline["recommendation"] in {"Deploy", "Deploy and monitor", "Do not deploy"}
    assert figures["spend"]["basis"] == "estimated" and headline["development_cost_basis"] == "estimated"
    assert headline["recommendation"] in result.output and as_printed("net_benefit", headline) in result.output

    text = _pdf_text(workdir / "report.pdf")
    for key in HEADLINE:
        if headline[key] is not None:
            assert as_printed(key, headline) in text, f"{key} {headline[key]} is not in the PDF"
    for title in (
        "2. Assumptions register",
        "3. The value model",
        "4. Model quality",
        "5. Tuning",
        "6. Spend",
        "7. Sensitivity, scenarios and uncertainty",
        "9. Provenance and sign-off",
    ):
        assert title in text
    assert "malignant tumours" in text  # the quality in plain words
    # Read from the sweep's Optuna journal, which the report left as it was.
    spec = yaml.safe_load(swept.read_text())
    assert set(figures["tuning"]["parameter_importances"]) == set(spec["search_space"])
    assert "Parameter importances (fANOVA)" in text
    # The PDF carries the same JSON as an attachment.
    attached = PdfReader(workdir / "report.pdf").attachments["roi.json"][0]
    assert json.loads(attached) == figures
    assert (workdir / "report.html").read_text().count("<svg") == 3

    # Logged on the sweep's parent run, so the UI compares ROI across sweeps.
    [parent] = parent_runs("tumour-screening")
    # As one set, in a folder of its own that the run's tag makes current.
    current = parent.data.tags["tracker.report_set"]
    assert current.startswith("reports/")
    artifacts = {a.path.removeprefix(current + "/") for a in client().list_artifacts(parent.info.run_id, current)}
    assert artifacts == {"report.pdf", "report.html", "roi.json"}
    # MLflow keeps metrics as floats; each is the float nearest the report's exact figure.
    for key in ("npv", "net_benefit", "monthly_benefit", "development_cost", "probability_npv_positive"):
        assert Decimal(repr(parent.data.metrics[key])) == Decimal(headline[key])
    assert Decimal(repr(parent.data.metrics["roi"])) == Decimal(figures["value_model"]["roi"])
    assert figures["provenance"]["best_run_id"] == parent.data.tags["tracker.best_run_id"]
    # The registered champion carries its value, and its run holds the report.
    version = client().get_model_version_by_alias("tumour-screening", "champion")
    assert version.run_id == figures["provenance"]["best_run_id"]
    assert {k: version.tags[k] for k in ("npv", "net_benefit", "currency", "report_run_id")} == {
        "npv": headline["npv"],
        "net_benefit": headline["net_benefit"],
        "currency": "USD",
        "report_run_id": parent.info.run_id,
    }
    assert version.tags["roi_percent"] == (headline["roi_percent"] or "undefined")
    champion_set = client().get_run(version.run_id).data.tags["tracker.report_set"]
    on_champion = {
        a.path.removeprefix(champion_set + "/") for a in client().list_artifacts(version.run_id, champion_set)
    }
    assert on_champion == {"report.pdf", "report.html", "roi.json"}


@pytest.mark.slow
def test_html_and_pdf_show_injected_markup_as_text(workdir: Path, invoke) -> None:
    evil = '<script>alert(1)</script><img src="file:///etc/hostname">'
    config = _config(workdir, study=f"sweep {evil}", tags={"project": "churn", "team": evil})
    assert invoke("sweep", "--config", config, "--quiet").exit_code == 0
    result = invoke("report", "--config", config, "--source", "estimate", "--tag", "project=churn")
    assert result.exit_code == 0, result.output
    assert "not loaded" not in result.output  # nothing even tried to load
    html = (workdir / "report.html").read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=" in html
    text = _pdf_text(workdir / "report.pdf")
    assert "<script>alert(1)</script>" in text  # shown as text


def test_the_pdf_renderer_fetches_nothing_from_outside(tmp_path: Path) -> None:
    from dataclasses import dataclass

    from reports.figures import Figures
    from reports.render import render_pdf

    @dataclass(frozen=True)
    class Blank(Figures):
        schema: str = "blank"

    @dataclass(frozen=True)
    class Page:
        figures: Blank
        charts: dict[str, str]
        template = "report.html.j2"
        attachment = "roi.json"

    report = Page(Blank(), {})
    html = (
        '<p>x</p><img src="file:///etc/hostname"><img src="http://127.0.0.1:9/x.png">'
        '<link rel="stylesheet" href="file:///etc/passwd">'
    )
    refused: list[str] = []
    render_pdf(html, report, on_refused=refused.append)
    assert set(refused) == {"file:///etc/hostname", "http://127.0.0.1:9/x.png", "file:///etc/passwd"}


@pytest.mark.slow
def test_letter_paper(workdir: Path, invoke, swept: Path) -> None:
    # Without the study's journal the report only leaves the importances out, and makes no
    # empty journal where a user runs it.
    (workdir / "optuna.journal").unlink()
    letter = invoke("report", "--config", swept, "--paper", "letter", "--out", "letter.pdf")
    assert letter.exit_code == 0, letter.output
    box = PdfReader(workdir / "letter.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    a4 = invoke("report", "--config", swept, "--out", "a4.pdf")
    assert a4.exit_code == 0
    box = PdfReader(workdir / "a4.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert not (workdir / "optuna.journal").exists()
    assert "Parameter importances" not in _pdf_text(workdir / "a4.pdf")


@pytest.mark.slow
def test_regression_report(workdir: Path, invoke) -> None:
    config = ROOT / "examples" / "regression.yaml"
    assert invoke("sweep", "--config", config, "--trials", "3", "--quiet").exit_code == 0
    result = invoke("report", "--config", config)
    assert result.exit_code == 0, result.output
    figures = json.loads((workdir / "roi.json").read_text())
    assert figures["value_model"]["task"] == "regression"
    assert figures["value_model"]["value_per_unit_error"] == "0.50"
    assert [row["metric"] for row in figures["quality"]] == ["mse", "rmse", "mae", "r2"]
    assert figures["quality_in_words"][0].startswith("Its predictions are off by")
    # The reason claims only what the simulation varied: no ranges are stated, no validation rows re-picked.
    reason = figures["headline"]["reason"]
    assert "ranges" not in reason and "validation" not in reason
    assert figures["baseline"]["words"] == "the training mean" and figures["baseline"]["alternative"] is None


@pytest.mark.slow
def test_a_registered_model_as_the_baseline(workdir: Path, invoke, swept: Path) -> None:
    other = _config(
        workdir,
        experiment="incumbent",
        objective={"trainer": "logistic_regression", "dataset": "breast_cancer", "metric": "f1"},
        search_space={"C": {"type": "float", "low": 0.01, "high": 1, "log": True}},
    )
    shutil.copy(other, workdir / "incumbent.yaml")
    assert invoke("sweep", "--config", "incumbent.yaml", "--quiet").exit_code == 0
    data = yaml.safe_load(swept.read_text())
    data["roi"]["baseline"] = {"model": "incumbent@champion"}
    swept.write_text(yaml.safe_dump(data))
    result = invoke("report", "--config", swept)
    assert result.exit_code == 0, result.output
    figures = json.loads((workdir / "roi.json").read_text())
    assert figures["value_model"]["baseline"] == "the model incumbent@champion"
    assert figures["baseline"]["kind"] == "model" and figures["baseline"]["chosen_by"] == "configured"
    assert figures["confusion_matrix"]["baseline"]["tp"] > 0  # the incumbent flags cases too


FAULTS = [
    ({"roi": {"currency": "USD"}}, [], 2, "roi.value_per_outcome: required for a classifier"),
    (
        {
            "roi": {
                "currency": "EUR",
                "value_per_outcome": {"true_positive": 1, "false_positive": 0, "false_negative": 0, "true_negative": 0},
            }
        },
        [],
        2,
        "roi.currency is EUR but the spend is in USD",
    ),
    ({}, ["--run", "0123456789abcdef"], 2, "no run '0123456789abcdef'"),
    (
        {
            "roi": {
                "baseline": {"model": "nobody@champion"},
                "value_per_outcome": {"true_positive": 1, "false_positive": 0, "false_negative": 0, "true_negative": 0},
            }
        },
        [],
        2,
        "roi.baseline: no registered model 'nobody@champion'",
    ),
    ({}, ["--experiment", "never-swept"], 2, "no experiment 'never-swept'"),
]


@pytest.mark.slow
def test_faults_are_one_line(workdir: Path, invoke, swept: Path) -> None:
    # One sweep for every fault: each changes the config, and the previous good report stays.
    (workdir / "report.pdf").write_bytes(b"the previous good report")
    original = yaml.safe_load(swept.read_text())
    for change, args, code, text in FAULTS:
        swept.write_text(yaml.safe_dump({**original, **change}))
        result = invoke("report", "--config", swept, *args)
        assert result.exit_code == code, (text, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and text in lines[0], result.output
        assert (workdir / "report.pdf").read_bytes() == b"the previous good report"  # nothing lost


def test_no_finished_runs(workdir: Path, invoke) -> None:
    (workdir / "fails.py").write_text(
        "def objective(trial):\n    trial.suggest_int('x', 0, 1)\n    raise ValueError('x')\n"
    )
    (workdir / "fails.yaml").write_text("objective: {function: 'fails:objective', metric: x, direction: maximize}\n")
    assert invoke("sweep", "--config", "fails.yaml", "--trials", "2", "--quiet").exit_code == 1
    result = invoke("report", "--config", "fails.yaml")
    assert result.exit_code == 2
    assert "has no finished runs" in result.output


def test_a_function_objective_has_no_predictions_to_report(workdir: Path, invoke) -> None:
    (workdir / "fn.py").write_text("def objective(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    (workdir / "fn.yaml").write_text("objective: {function: 'fn:objective', metric: x, direction: maximize}\n")
    assert invoke("sweep", "--config", "fn.yaml", "--trials", "2", "--quiet").exit_code == 0
    result = invoke("report", "--config", "fn.yaml")
    assert result.exit_code == 1
    assert "has no predictions/test.parquet" in result.output


@pytest.mark.slow
def test_no_spend_found_gives_no_verdict_and_page_1_says_what_was_assumed(workdir: Path, invoke, swept: Path) -> None:
    data = yaml.safe_load(swept.read_text())
    del data["roi"]["production_positive_rate"]
    swept.write_text(yaml.safe_dump(data))
    result = invoke("report", "--config", swept, "--source", "estimate", "--start", "2020-01-01", "--end", "2020-01-31")
    assert result.exit_code == 0, result.output
    figures = json.loads((workdir / "roi.json").read_text())
    headline = figures["headline"]
    # No spend in a window that misses the runs: no ROI and no verdict, but the NPV is still shown.
    assert headline["recommendation"] == "No verdict" and headline["roi_percent"] is None
    assert headline["roi_note"] == "undefined: no development cost found"
    assert headline["development_cost"] is None and headline["npv"] is not None
    assert any("does not overlap the runs" in warning for warning in headline["warnings"])
    # Without a production rate, the test set's is assumed, and page 1 says which.
    rate = Decimal(figures["value_model"]["test_positive_rate"])
    page_1 = PdfReader(workdir / "report.pdf").pages[0].extract_text()
    assert f"test set's positive rate ({rate:.1%})" in " ".join(page_1.split())
    assert "No verdict" in page_1 and "undefined" in page_1
