"""Billing exports as AWS lays them out: legacy CUR in Parquet with a column per tag, AWS's status
and set-up files beside the data, tag keys as AWS writes them into column names, Cost Explorer
replies grouped by tag, and no silent zero for a tag the export cannot have."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cost.billing import BillingFileSource
from cost.exports import legacy_tag_column
from cost.table import SpendFilter
from tests import billing_exports as ex
from tracker.errors import UsageError

OCT_NOV = (date(2026, 10, 1), date(2026, 11, 30))


def _filter(key: str, value: str) -> SpendFilter:
    return SpendFilter(tags=((key, value),), start=OCT_NOV[0], end=OCT_NOV[1])


def _by_month(table) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {month: amount for month, amount in table.by_month().items() if amount}


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("project", "resource_tags_user_project"),
        ("cost_center", "resource_tags_user_cost_center"),
        ("CostCenter", "resource_tags_user_cost_center"),
        ("aws:createdBy", "resource_tags_aws_created_by"),
        ("user:team-name", "resource_tags_user_team_name"),
        ("aws:cloudformation:stack-name", "resource_tags_aws_cloudformation_stack_name"),
    ],
)
def test_tag_keys_become_column_names_as_aws_writes_them(key: str, column: str) -> None:
    assert legacy_tag_column(key) == column


def test_a_legacy_parquet_folder_reconciles_with_pyarrow(tmp_path: Path) -> None:
    folder = ex.legacy_parquet_folder(tmp_path, ex.LEGACY_LINES)
    data = sorted(folder.rglob("year=*/**/*.parquet"))
    table = BillingFileSource(folder).fetch(_filter("project", "churn"))
    want = ex.pyarrow_total(data, "resource_tags_user_project", "churn")
    assert _by_month(table) == want and sum(want.values()) == Decimal("18.1956790012")
    details = dict(table.details)
    assert details["format"] == "legacy CUR (Parquet)"
    # The status table and the CloudFormation template are skipped, and said so.
    assert details["files"] == "3 parquet files, 2 skipped (AWS status, manifest or set-up files)"
    # September lies outside the dates; October and November each say how many lines they held.
    assert details["lines by month"] == "2026-10: 3, 2026-11: 2"


def test_an_aws_tag_in_camel_case_and_a_column_only_later_months_have(tmp_path: Path) -> None:
    folder = ex.legacy_parquet_folder(tmp_path, ex.LEGACY_LINES)
    data = sorted(folder.rglob("year=*/**/*.parquet"))
    table = BillingFileSource(folder).fetch(_filter("aws:createdBy", "alice"))
    # October's files have no aws:createdBy column: its lines are untagged, not an error.
    assert _by_month(table) == ex.pyarrow_total(data, "resource_tags_aws_created_by", "alice")
    assert _by_month(table) == {"2026-11": Decimal("-1.25")}


def test_a_legacy_csv_reads_an_aws_tag_by_its_key_as_given(tmp_path: Path) -> None:
    path = ex.legacy_csv(tmp_path / "legacy.csv", ex.LEGACY_LINES)
    table = BillingFileSource(path).fetch(_filter("aws:createdBy", "alice"))
    want: dict[str, Decimal] = {}
    with path.open(newline="") as handle:  # the reference, summed with the csv module
        for row in csv.DictReader(handle):
            day = row["lineItem/UsageStartDate"][:10]
            if row["resourceTags/aws:createdBy"] == "alice" and "2026-10-01" <= day <= "2026-11-30":
                want[day[:7]] = want.get(day[:7], Decimal(0)) + Decimal(row["lineItem/UnblendedCost"])
    assert _by_month(table) == want == {"2026-10": Decimal("112.3456789012"), "2026-11": Decimal("-1.25")}


def test_a_tag_no_file_has_a_column_for_is_an_error_naming_the_keys_there_are(tmp_path: Path) -> None:
    folder = ex.legacy_parquet_folder(tmp_path, ex.LEGACY_LINES)
    with pytest.raises(UsageError) as raised:
        BillingFileSource(folder).fetch(_filter("cost_center", "Cost001"))
    message = str(raised.value)
    assert "no resource_tags_user_cost_center column" in message
    assert "its tag keys are: aws:created_by, project" in message
    legacy_csv = ex.legacy_without_tags(tmp_path / "legacy.csv", ex.CUR_LINES)
    with pytest.raises(UsageError, match=r"no resourceTags/user:project column, .*; its tag keys are: none\."):
        BillingFileSource(legacy_csv).fetch(_filter("project", "churn"))


def test_a_tag_column_that_matches_no_line_gives_0_with_a_warning(tmp_path: Path) -> None:
    folder = ex.legacy_parquet_folder(tmp_path, ex.LEGACY_LINES)
    table = BillingFileSource(folder).fetch(_filter("project", "no-such-project"))
    assert table.rows == () and table.total == 0
    assert table.warnings == (
        "no line of the 5 from 2026-10-01 to 2026-11-30 carries project=no-such-project, so the spend is 0: "
        "check the tag's value and that the tag was active when these lines were billed",
    )


def test_a_cost_explorer_reply_grouped_by_tag_reads_tag_values_as_tags(tmp_path: Path) -> None:
    path = ex.cost_explorer_reply_by_tag(tmp_path / "reply.json")
    table = BillingFileSource(path).fetch(_filter("project", "churn"))
    reply = json.loads(path.read_text())
    want: dict[tuple[str, str], Decimal] = {}
    for result in reply["ResultsByTime"]:
        for group in result["Groups"]:
            if group["Keys"][0] == "project$churn":
                amount = Decimal(group["Metrics"]["UnblendedCost"]["Amount"])
                want[(result["TimePeriod"]["Start"][:7], group["Keys"][1])] = amount
    got = {(row.period_start.strftime("%Y-%m"), row.service): row.amount for row in table.rows}
    assert got == want
    assert not any("$" in row.service for row in table.rows)


def test_a_folder_with_parquet_and_csv_data_is_refused_not_half_read(tmp_path: Path) -> None:
    folder = ex.cur2_folder(tmp_path / "mixed", ex.CUR_LINES)
    ex.focus_csv(folder / "extra.csv", ex.FOCUS_LINES)
    with pytest.raises(UsageError, match=r"holds both Parquet \(2\) and CSV \(1\) data files"):
        BillingFileSource(folder).fetch(_filter("project", "churn"))


@pytest.mark.slow
def test_the_command_says_each_one_as_a_user_sees_it(workdir: Path, invoke) -> None:
    folder = ex.legacy_parquet_folder(workdir, ex.LEGACY_LINES)
    args = ("cost", "--source", "billing-file", "--file", str(folder), "--start", "2026-10-01", "--end", "2026-11-30")
    missing = invoke(*args, "--tag", "cost_center=Cost001")
    assert missing.exit_code == 2
    # The library names the config key (`tags`); the command, its own flag for it.
    assert missing.output.startswith(
        "error: --tag: this legacy CUR (Parquet) export has no resource_tags_user_cost_center"
    )
    unmatched = invoke(*args, "--tag", "project=nobody", "--format", "json")
    assert unmatched.exit_code == 0
    assert "warning: no line of the 5 from 2026-10-01 to 2026-11-30 carries project=nobody" in unmatched.output
    found = invoke(*args, "--tag", "project=churn", "--format", "json")
    assert found.exit_code == 0, found.output
    assert Decimal(json.loads(found.output)["total"]) == Decimal("18.1956790012")
