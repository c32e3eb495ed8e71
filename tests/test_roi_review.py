"""The FP&A review's cases, each run through `tracker report` on the worked example.

A reviewer signs a report when the decision is right, not only the arithmetic: sunk costs
do not drive the verdict, no running cost silently becomes zero, credits never reduce
people's cost, an implausible input is said out loud, and the PDF reads as finance prints.
The page checks read every character's position (pdfplumber) and every page rendered to a
picture (pypdfium2, through pdfplumber).
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest
import yaml

from tests.helpers import BOTTOM, RAW_NUMBER, TOP, as_printed, copy_store, pages_inside_margins, worked_example

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def _swept(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    return worked_example(tmp_path_factory.mktemp("roi-review"), _empty_mlflow_db, trials=3, replicates=200)


@pytest.fixture
def example(workdir: Path, _swept: Path) -> Path:
    copy_store(_swept, workdir, "marketing.yaml")
    (workdir / "examples").symlink_to(_swept / "examples")
    return workdir / "marketing.yaml"


def _edit(config: Path, **roi: object) -> dict:
    data = yaml.safe_load(config.read_text())
    for key, value in roi.items():
        if value is None:
            data["roi"].pop(key, None)
        else:
            data["roi"][key] = value
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def _report(invoke, config: Path, *extra: str) -> tuple[dict, str]:
    result = invoke("report", "--config", config, *extra)
    assert result.exit_code == 0, result.output
    return json.loads((config.parent / "roi.json").read_text()), result.output


@pytest.mark.slow
def test_the_pdf_reads_as_finance_prints_it(workdir: Path, invoke, example: Path) -> None:
    figures, _ = _report(invoke, example)
    pdf_path = workdir / "report.pdf"
    texts = pages_inside_margins(pdf_path)
    text = "\n".join(texts)
    # No raw Decimal anywhere; money grouped by thousands.
    assert not RAW_NUMBER.findall(text), RAW_NUMBER.findall(text)[:5]
    headline = figures["headline"]
    for key in ("npv", "npv_all_costs", "npv_p50", "npv_mean", "development_cost"):
        shown = as_printed(key, headline)
        assert shown in text, key
        if abs(Decimal(headline[key])) >= 1000:
            assert "," in shown
    # One row of a table is never split across pages: each sensitivity row's whole label (which may
    # wrap within its cell) sits on the page of its figures, beside them.
    with pdfplumber.open(pdf_path) as pdf:
        words = [page.extract_words() for page in pdf.pages]
    figure_or_currency = rf"[-\d,.%]+|{re.escape(figures['headline']['currency'])}"
    for row in figures["sensitivity"]["rows"]:
        label, high = row["assumption"], f"{Decimal(row['npv_high']):,.2f}"
        placed = [(n, w) for n, page in enumerate(words) for w in page if w["text"] == high]
        assert placed, f"{high} is not in the PDF"

        def label_beside(number: int, figure: dict) -> str:
            near = [w for w in words[number] if figure["top"] - 2 <= w["top"] <= figure["top"] + 40 and w["x1"] < 250]
            # The label's words, without the low value that shares its line.
            return " ".join(w["text"] for w in near if not re.fullmatch(figure_or_currency, w["text"]))

        # Rows may share a figure (a spent cost moves nothing): one of its places has the label.
        assert any(label in label_beside(n, w) for n, w in placed), label
    # The threshold: four significant digits on the page, exact in the JSON.
    threshold = figures["decision"]["threshold"]
    assert f"{float(threshold):.4g}" in text and float(repr(float(threshold))) == float(threshold)
    # Page 1 gives the central estimate and names it; the last page is the sign-off.
    page_1 = " ".join(texts[0].split())
    assert "forward npv" in page_1.lower() and "median (P50)" in page_1 and "mean" in page_1
    assert "acting on everyone" in page_1
    last = " ".join(texts[-1].split())
    assert "Reviewed by" in last and "Approved by" in last and "9. Provenance and sign-off" in last
    # Kept whole on the last page, the block stays under two thirds of a page: moving it whole
    # can then never leave the page before it under a third full.
    with pdfplumber.open(pdf_path) as pdf:
        page = pdf.pages[-1]
        body = [c for c in page.chars if TOP - 2 < c["top"] and c["bottom"] < page.height - BOTTOM + 2]
        block = max(c["bottom"] for c in body) - min(c["top"] for c in body)
        assert block / (page.height - TOP - BOTTOM) < 2 / 3
    assert figures["provenance"]["signoff"]["config_sha256"] in last.replace(" ", "")


@pytest.mark.slow
def test_sunk_costs_are_shown_but_do_not_decide(workdir: Path, invoke, example: Path) -> None:
    _edit(
        example,
        one_off_costs=[
            {"name": "data scientist", "amount": 150000, "spent": True},
            {"name": "CRM integration", "amount": 4000},
        ],
    )
    figures, output = _report(invoke, example)
    h = figures["headline"]
    # "Was it worth it?": no. "Deploy now?": the money still to spend is 4,000, and the forward NPV is positive.
    assert Decimal(h["npv_all_costs"]) < 0 < Decimal(h["npv_forward"]) == Decimal(h["npv"])
    assert Decimal(h["npv_forward"]) - Decimal(h["npv_all_costs"]) == Decimal(h["cost_spent"])
    assert Decimal(h["cost_to_come"]) == Decimal(4000)
    assert h["recommendation"] != "Do not deploy" and h["verdict_on"] == "npv_forward"
    assert "NPV of all costs (was it worth it?): -" in output
    # 154,271.88 of development is not paid back within 24 months: a sentence, not a number.
    assert h["payback_months"] is None and h["payback_note"] == "not within the 24-month horizon"


@pytest.mark.slow
def test_a_running_cost_tag_with_no_bill_line_is_an_error(workdir: Path, invoke, example: Path) -> None:
    _edit(example, running_cost_from={"tags": {"project": "no-such-endpoint"}})
    result = invoke("report", "--config", example)
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "roi.running_cost_from: no billed line tagged project=no-such-endpoint in 2026-11" in line
    assert "window 2026-11-01 to 2026-11-30" in line and "roi.running_cost_per_month" in line


@pytest.mark.slow
def test_credits_beyond_usage_floor_the_cloud_cost_and_nothing_else(workdir: Path, invoke, example: Path) -> None:
    bill = workdir / "bill.csv"
    with (ROOT / "examples" / "cur2-term-deposit-2026-11.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        if row["line_item_line_item_type"] == "Credit" and '"term-deposit"' in row["resource_tags"]:
            row["line_item_unblended_cost"] = "-1500.000000"
    with bill.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    figures, _ = _report(invoke, example, "--file", str(bill))
    lines = {row["line"]: Decimal(row["amount"]) for row in figures["spend"]["development_cost_lines"]}
    cloud = sum((v for k, v in lines.items() if k.startswith("cloud: ") and "not counted" not in k), Decimal(0))
    assert cloud < 0  # usage 383.48 + tax 38.40 - 1,500.00
    assert lines["cloud: credits beyond usage, not counted"] == -cloud
    # The development cost is the one-off costs alone: the surplus took nothing off people's time.
    assert Decimal(figures["headline"]["development_cost"]) == Decimal(9000 + 4000)
    assert sum(lines.values(), Decimal(0)) == Decimal(figures["headline"]["development_cost"])
    assert figures["value_model"]["cloud_cost"] == "0.00"
    assert any("Credits and refunds exceed the cloud usage" in w for w in figures["headline"]["warnings"])


@pytest.mark.slow
def test_an_implausible_volume_is_said_on_page_1_and_the_terminal(workdir: Path, invoke, example: Path) -> None:
    _edit(example, predictions_per_month=1e12)
    figures, output = _report(invoke, example)
    [warning] = [w for w in figures["headline"]["warnings"] if w.startswith("Implausible volume")]
    assert "1,000,000,000,000 predictions a month" in warning and "roi.predictions_per_month" in warning
    assert f"warning: {warning}" in output
    assert any(w.startswith("Implausible return") for w in figures["headline"]["warnings"])


@pytest.mark.slow
def test_the_examples_own_warnings_still_fire_for_a_real_mismatch(workdir: Path, invoke, example: Path) -> None:
    data = yaml.safe_load(example.read_text())
    del data["cost"]["window_reason"]
    example.write_text(yaml.safe_dump(data, sort_keys=False))
    figures, _ = _report(invoke, example)
    warnings = figures["headline"]["warnings"]
    # The sample bill is November's; the sweep ran today: both checks fire without the stated reason.
    assert any("does not overlap the runs" in w for w in warnings)
    assert any("differ more than 10-fold" in w and "cost.window_reason" in w for w in warnings)


@pytest.mark.slow
def test_a_capacity_that_binds_raises_the_threshold(workdir: Path, invoke, example: Path) -> None:
    free, _ = _report(invoke, example)
    actions = Decimal(free["operations"]["actions_per_month"])
    _edit(example, capacity_per_month=int(actions / 3))
    capped, _ = _report(invoke, example)
    assert capped["operations"]["capacity_binds"] is True
    assert float(capped["decision"]["threshold"]) > float(free["decision"]["threshold"])
    assert Decimal(capped["operations"]["actions_per_month"]) < actions
    assert any("capacity" in w and "binds" in w for w in capped["headline"]["warnings"])
