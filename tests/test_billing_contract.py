"""One contract for the billing readers, over every shape of export, under two machine time zones.

Each variant's figures are read by the real reader in a child process whose TZ is set
(Los Angeles, then Kolkata), and must equal the sums tests/billing_exports.py makes from
the lines it wrote. The S3 variant is a CUR 2.0 data export on moto's S3 server over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from tests import billing_exports as ex
from tests.conftest import free_port

TIME_ZONES = ("America/Los_Angeles", "Asia/Kolkata")
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

Variant = tuple[Callable[[Path], str], ex.Expected]
VARIANTS: dict[str, Variant] = {
    "focus-csv-z": (lambda d: str(ex.focus_csv(d / "z.csv", ex.FOCUS_LINES)), ex.expected(ex.FOCUS_LINES)),
    "focus-csv-offset": (
        lambda d: str(ex.focus_csv(d / "o.csv", ex.FOCUS_LINES, start=lambda s: s.replace("Z", "+00:00"))),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-csv-no-seconds": (
        lambda d: str(ex.focus_csv(d / "m.csv", ex.FOCUS_LINES, start=lambda s: s[:16] + "Z")),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-csv-naive": (
        lambda d: str(ex.focus_csv(d / "n.csv", ex.FOCUS_LINES, start=lambda s: s[:19].replace("T", " "))),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-csv-gzip": (lambda d: str(ex.focus_csv(d / "g.csv.gz", ex.FOCUS_LINES)), ex.expected(ex.FOCUS_LINES)),
    "focus-csv-bom": (lambda d: str(ex.focus_csv(d / "b.csv", ex.FOCUS_LINES, bom=True)), ex.expected(ex.FOCUS_LINES)),
    "focus-tags-null": (
        lambda d: str(ex.focus_csv(d / "tn.csv", ex.FOCUS_LINES, untagged="NULL")),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-tags-empty": (
        lambda d: str(ex.focus_csv(d / "te.csv", ex.FOCUS_LINES, untagged="")),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-tags-braces": (
        lambda d: str(ex.focus_csv(d / "tb.csv", ex.FOCUS_LINES, untagged="{}")),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-parquet-zoned": (
        lambda d: str(ex.focus_parquet(d / "pz.parquet", ex.FOCUS_LINES, zoned=True)),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-parquet-naive": (
        lambda d: str(ex.focus_parquet(d / "pn.parquet", ex.FOCUS_LINES, zoned=False)),
        ex.expected(ex.FOCUS_LINES),
    ),
    "focus-mixed-currencies": (lambda d: str(ex.focus_csv(d / "x.csv", ex.MIXED_LINES)), ex.expected(ex.MIXED_LINES)),
    "cur2-partitions": (lambda d: str(ex.cur2_folder(d / "cur2", ex.CUR_LINES)), ex.expected(ex.CUR_LINES)),
    "legacy-csv-tag-columns": (
        lambda d: str(ex.legacy_csv(d / "legacy.csv", ex.LEGACY_LINES)),
        ex.expected(ex.LEGACY_LINES),
    ),
    "legacy-parquet-athena-folder": (
        lambda d: str(ex.legacy_parquet_folder(d / "legacy", ex.LEGACY_LINES)),
        ex.expected(ex.LEGACY_LINES),
    ),
    "cost-explorer-reply-by-tag": (
        lambda d: str(ex.cost_explorer_reply_by_tag(d / "reply.json")),
        ex.Expected(
            {"USD": Decimal("19.4456790012")},
            {"2026-10": Decimal("19.4456789012"), "2026-11": Decimal("0.0000001")},
            {"usage": Decimal("19.4456790012")},
        ),
    ),
}
S3_VARIANT = "cur2-s3-prefix"
# Legacy CUR on S3 as AWS lays it out: month partitions, the status table and set-up files beside them.
S3_LEGACY_VARIANT = "legacy-parquet-s3-prefix"
READER = """
import json, sys
from datetime import date
from cost.billing import BillingFileSource
from cost.table import SpendFilter
spend = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 11, 30))
out = {}
for name, location in json.load(sys.stdin).items():
    table = BillingFileSource(location).fetch(spend)
    rows = [row.to_json() for row in table.rows]
    out[name] = {"rows": rows, "notes": list(table.notes), "details": dict(table.details)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="t"
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("exports")
    locations = {name: make(folder) for name, (make, _) in VARIANTS.items()}
    client = _s3(s3_endpoint)
    client.create_bucket(Bucket="billing")
    # Two months in range and one outside it (September), which must not even be opened.
    for relative, data in ex.cur2_partitions([*ex.CUR_LINES, ex.FOCUS_LINES[-1]]).items():
        client.put_object(Bucket="billing", Key=f"exports/cur2/data/{relative}", Body=data)
    locations[S3_VARIANT] = "s3://billing/exports/cur2/"
    for relative, data in ex.legacy_parquet_files(ex.LEGACY_LINES).items():
        client.put_object(Bucket="billing", Key=f"exports/legacy/{relative}", Body=data)
    locations[S3_LEGACY_VARIANT] = "s3://billing/exports/legacy/workshop-cur/"
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL_S3": s3_endpoint}
    out: dict[str, dict] = {}
    for tz in TIME_ZONES:
        done = subprocess.run(
            [sys.executable, "-c", READER],
            input=json.dumps(locations),
            capture_output=True,
            text=True,
            env={**env, "TZ": tz},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out[tz] = json.loads(done.stdout)
    return out


def _sums(rows: list[dict], key: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for row in rows:
        name = row["period_start"][:7] if key == "month" else row[key]
        out[name] = out.get(name, Decimal(0)) + Decimal(row["amount"])
    return {k: v for k, v in out.items() if v != 0 or key == "currency"}


@pytest.mark.slow
@pytest.mark.parametrize("tz", TIME_ZONES)
@pytest.mark.parametrize("variant", [*sorted(VARIANTS), S3_VARIANT, S3_LEGACY_VARIANT])
def test_every_export_gives_the_independent_sums_in_any_time_zone(results: dict, variant: str, tz: str) -> None:
    on_s3 = {S3_VARIANT: ex.expected(ex.CUR_LINES), S3_LEGACY_VARIANT: ex.expected(ex.LEGACY_LINES)}
    want = on_s3[variant] if variant in on_s3 else VARIANTS[variant][1]
    got = results[tz][variant]
    assert _sums(got["rows"], "currency") == want.by_currency
    assert _sums(got["rows"], "month") == {k: v for k, v in want.by_month.items() if v != 0}
    assert _sums(got["rows"], "charge_type") == {k: v for k, v in want.by_charge.items() if v != 0}
    if want.note:
        assert any(want.note in note for note in got["notes"]), got["notes"]
    # Every row says its currency and period, as the spend table's contract demands.
    for row in got["rows"]:
        assert len(row["currency"]) == 3 and row["period_end"] > row["period_start"]


@pytest.mark.slow
def test_the_s3_reader_opens_only_the_partitions_in_range(results: dict) -> None:
    details = results[TIME_ZONES[0]][S3_VARIANT]["details"]
    assert details["files"] == "parquet on S3, 2 of 3 files in the date range"
    assert details["format"] == "CUR 2.0"


@pytest.mark.slow
def test_the_s3_legacy_export_reconciles_with_pyarrow_on_the_same_files(results: dict, tmp_path: Path) -> None:
    folder = ex.legacy_parquet_folder(tmp_path, ex.LEGACY_LINES)
    want = ex.pyarrow_total(sorted(folder.rglob("year=*/**/*.parquet")), "resource_tags_user_project", "churn")
    got = results[TIME_ZONES[0]][S3_LEGACY_VARIANT]["rows"]
    assert {k: v for k, v in _sums(got, "month").items() if v} == want


@pytest.mark.slow
def test_the_s3_reader_skips_what_aws_writes_beside_the_data(results: dict) -> None:
    # The status table sorts first under the prefix; read as data it broke the read (issue 22).
    details = results[TIME_ZONES[0]][S3_LEGACY_VARIANT]["details"]
    assert details["files"] == (
        "parquet on S3, 2 of 3 files in the date range; 2 skipped (AWS status, manifest or set-up files)"
    )
    assert details["format"] == "legacy CUR (Parquet)"
    assert details["lines by month"] == "2026-10: 3, 2026-11: 2"


def _cost(location: str, endpoint: str, workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    from tests.conftest import tracker_command

    return subprocess.run(
        tracker_command("cost", "--source", "billing-file", "--file", location, "--tag", "project=churn"),
        capture_output=True,
        text=True,
        cwd=workdir,
        env={**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL_S3": endpoint, **env},
        timeout=120,
    )


@pytest.mark.slow
def test_a_bad_bucket_a_missing_prefix_and_denied_access_are_one_line_each(
    workdir: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    _s3(s3_endpoint).create_bucket(Bucket="empty-billing")
    # A stray upload among the months: the user's input, named, not an Arrow error.
    garbage = "garbage/cur2/data/BILLING_PERIOD=2026-10/part-0.parquet"
    _s3(s3_endpoint).put_object(Bucket="empty-billing", Key=garbage, Body=b"not parquet at all\n" * 10)
    cases = [
        ("s3://no-such-bucket/exports/", s3_endpoint, 2, "there is no bucket 'no-such-bucket'"),
        ("s3://empty-billing/missing/", s3_endpoint, 2, "no .parquet files under s3://empty-billing/missing/"),
        (
            "s3://empty-billing/garbage/cur2/",
            s3_endpoint,
            2,
            f"s3://empty-billing/{garbage} is not a readable Parquet file",
        ),
    ]
    # A second S3 server that checks credentials: the test's keys are unknown to it.
    port = free_port()
    strict = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/moto-api/")
        cases.append(("s3://billing/exports/", f"http://127.0.0.1:{port}", 2, "S3 denied access to s3://billing"))
        for location, endpoint, code, message in cases:
            done = _cost(location, endpoint, workdir)
            assert done.returncode == code, (location, done.stdout, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: --file: "), done.stderr
            assert message in lines[0] and "Traceback" not in done.stderr
    finally:
        os.killpg(strict.pid, 15)
        strict.wait(timeout=30)


def _wait_for(url: str, timeout: float = 60) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
