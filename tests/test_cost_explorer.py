"""Cost Explorer through botocore's Stubber: exact requests, pagination, throttling, each error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from cost.explorer import CostExplorerSource, build_request
from cost.table import SpendFilter
from tracker.errors import TrackerError, UsageError

TODAY = date(2026, 11, 26)
OCTOBER = SpendFilter(
    tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 10, 31), granularity="daily"
)


def _client():
    return boto3.client("ce", region_name="us-east-1")


def _group(service: str, amount: str, metric: str = "UnblendedCost", record: str = "Usage") -> dict:
    return {"Keys": [service, record], "Metrics": {metric: {"Amount": amount, "Unit": "USD"}}}


def _day(day: int, groups: list[dict], estimated: bool = False) -> dict:
    return {
        "TimePeriod": {"Start": f"2026-10-{day:02d}", "End": f"2026-10-{day + 1:02d}"},
        "Total": {},
        "Groups": groups,
        "Estimated": estimated,
    }


ACTIVE = {"CostAllocationTags": [{"TagKey": "project", "Type": "UserDefined", "Status": "Active"}]}
TAG_CHECK = {"TagKeys": ["project"], "Type": "UserDefined"}


def _expected(token: str | None = None) -> dict:
    request = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},  # the inclusive end + 1 day
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Tags": {"Key": "project", "Values": ["churn"], "MatchOptions": ["EQUALS"]}},
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "RECORD_TYPE"}],
    }
    if token:
        request["NextPageToken"] = token
    return request


def test_request_combines_several_tags_with_and() -> None:
    spend = SpendFilter(
        tags=(("project", "churn"), ("team", "growth")), start=date(2026, 10, 1), end=date(2026, 10, 31)
    )
    request = build_request(spend)
    assert request["Filter"] == {
        "And": [
            {"Tags": {"Key": "project", "Values": ["churn"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "team", "Values": ["growth"], "MatchOptions": ["EQUALS"]}},
        ]
    }
    assert request["Granularity"] == "MONTHLY"
    assert request["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-11-01"}


def test_follows_next_page_token_and_keeps_amounts_exact(tmp_path: Path) -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response("list_cost_allocation_tags", ACTIVE, TAG_CHECK)
    stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [_day(1, [_group("Amazon SageMaker", "12.3456789012"), _group("Amazon S3", "0.0000001")])],
            "NextPageToken": "page-2",
            "DimensionValueAttributes": [],
        },
        _expected(),
    )
    stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [_day(2, [_group("Amazon SageMaker", "7.10")])],
            "NextPageToken": "page-3",
            "DimensionValueAttributes": [],
        },
        _expected("page-2"),
    )
    stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [_day(3, [_group("AWS Glue", "-1.25", record="Credit")], estimated=True)],
            "DimensionValueAttributes": [],
        },
        _expected("page-3"),
    )
    with stub:
        table = CostExplorerSource(client, today=TODAY).fetch(OCTOBER)
    stub.assert_no_pending_responses()
    assert table.total == Decimal("12.3456789012") + Decimal("0.0000001") + Decimal("7.10") - Decimal("1.25")
    assert table.total == Decimal("18.1956790012")
    assert [(r.period_start.day, r.service, r.amount, r.estimated) for r in table.rows] == [
        (1, "Amazon S3", Decimal("0.0000001"), False),
        (1, "Amazon SageMaker", Decimal("12.3456789012"), False),
        (2, "Amazon SageMaker", Decimal("7.10"), False),
        (3, "AWS Glue", Decimal("-1.25"), True),
    ]
    assert table.estimated and table.currency == "USD"
    assert dict(table.details)["requests"] == "3"
    assert table.by_charge_type() == {"usage": Decimal("19.4456790012"), "credit": Decimal("-1.25")}
    assert [r.charge_type for r in table.rows] == ["usage", "usage", "usage", "credit"]


def test_throttling_is_retried_with_backoff() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response("list_cost_allocation_tags", ACTIVE, TAG_CHECK)
    for code in ("ThrottlingException", "LimitExceededException"):
        stub.add_client_error(
            "get_cost_and_usage", service_error_code=code, http_status_code=400, expected_params=_expected()
        )
    stub.add_response(
        "get_cost_and_usage",
        {"ResultsByTime": [_day(1, [_group("Amazon SageMaker", "1.00")])], "DimensionValueAttributes": []},
        _expected(),
    )
    pauses: list[float] = []
    with stub:
        table = CostExplorerSource(client, today=TODAY, sleep=pauses.append).fetch(OCTOBER)
    stub.assert_no_pending_responses()
    assert table.total == Decimal("1.00")
    assert len(pauses) == 2 and all(0 <= p <= 20 for p in pauses)


def test_throttling_that_never_ends_is_a_clear_failure() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response("list_cost_allocation_tags", ACTIVE, TAG_CHECK)
    for _ in range(3):
        stub.add_client_error("get_cost_and_usage", service_error_code="ThrottlingException", http_status_code=400)
    with stub, pytest.raises(TrackerError, match="kept throttling") as raised:
        CostExplorerSource(client, today=TODAY, sleep=lambda s: None, max_attempts=3).fetch(OCTOBER)
    assert raised.value.exit_code == 1


@pytest.mark.parametrize(
    ("code", "exit_code", "message"),
    [
        (
            "AccessDeniedException",
            2,
            "Cost Explorer denied access (AccessDeniedException): grant ce:GetCostAndUsage, "
            "or use `cost.source` billing-file",
        ),
        (
            "ExpiredTokenException",
            2,
            "the AWS credentials were rejected or have expired (ExpiredTokenException): refresh them, set AWS_PROFILE",
        ),
        ("DataUnavailableException", 1, "Cost Explorer has no data for that period yet (DataUnavailableException)"),
    ],
)
def test_errors_say_what_to_do(code: str, exit_code: int, message: str) -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response("list_cost_allocation_tags", ACTIVE, TAG_CHECK)
    stub.add_client_error("get_cost_and_usage", service_error_code=code, service_message="no", http_status_code=400)
    with stub, pytest.raises(TrackerError) as raised:
        CostExplorerSource(client, today=TODAY).fetch(OCTOBER)
    assert str(raised.value).startswith(message)
    assert raised.value.exit_code == exit_code
    assert "\n" not in str(raised.value)


def test_inactive_tag_is_refused_before_spending_a_request() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response(
        "list_cost_allocation_tags",
        {"CostAllocationTags": [{"TagKey": "project", "Type": "UserDefined", "Status": "Inactive"}]},
        TAG_CHECK,
    )
    with stub, pytest.raises(UsageError, match="tag 'project' is inactive in this account"):
        CostExplorerSource(client, today=TODAY).fetch(OCTOBER)
    stub.assert_no_pending_responses()  # no get_cost_and_usage was made


def test_unknown_tag_key_is_refused() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": []}, TAG_CHECK)
    with stub, pytest.raises(UsageError, match="'project' is not a cost-allocation tag"):
        CostExplorerSource(client, today=TODAY).fetch(OCTOBER)


def test_tag_check_denied_is_said_and_the_query_goes_on() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_client_error(
        "list_cost_allocation_tags",
        service_error_code="AccessDeniedException",
        http_status_code=400,
        expected_params=TAG_CHECK,
    )
    stub.add_response("get_cost_and_usage", {"ResultsByTime": [], "DimensionValueAttributes": []}, _expected())
    with stub:
        table = CostExplorerSource(client, today=TODAY).fetch(OCTOBER)
    assert table.total == 0
    assert "ce:ListCostAllocationTags denied" in table.notes[0]


def test_range_beyond_13_months_is_refused_without_a_request() -> None:
    old = SpendFilter(tags=(("project", "churn"),), start=date(2025, 10, 1), end=date(2025, 10, 31))
    with pytest.raises(
        UsageError, match=r"beyond Cost Explorer's 13 months of history \(the oldest day available is 2025-11-01"
    ):
        CostExplorerSource(_client(), today=TODAY).fetch(old)


def test_end_before_start_is_refused() -> None:
    backwards = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 31), end=date(2026, 10, 1))
    with pytest.raises(UsageError, match=r"`cost\.end` 2026-10-01 is before `cost\.start` 2026-10-31"):
        CostExplorerSource(_client(), today=TODAY).fetch(backwards)


def _one_month_stub(client, estimated: bool) -> Stubber:
    stub = Stubber(client)
    request = _expected()
    request["Granularity"] = "MONTHLY"
    result = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
        "Total": {},
        "Groups": [_group("Amazon SageMaker", "5.00")],
        "Estimated": estimated,
    }
    stub.add_response("get_cost_and_usage", {"ResultsByTime": [result], "DimensionValueAttributes": []}, request)
    return stub


def test_final_answers_are_cached_and_refresh_bypasses_the_cache(tmp_path: Path) -> None:
    month = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 10, 31))
    client = _client()
    with _one_month_stub(client, estimated=False):
        first = CostExplorerSource(client, cache_dir=tmp_path, today=TODAY, check_tags=False).fetch(month)
    # Served from disk: the stub has no response left, so a request would fail.
    with Stubber(client):
        again = CostExplorerSource(client, cache_dir=tmp_path, today=TODAY, check_tags=False).fetch(month)
    assert again.total == first.total == Decimal("5.00")
    assert dict(again.details)["cached"] == "yes" and dict(again.details)["requests"] == "0"
    with _one_month_stub(client, estimated=False) as stub:
        CostExplorerSource(client, cache_dir=tmp_path, today=TODAY, refresh=True, check_tags=False).fetch(month)
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("today", "estimated"), [(date(2026, 10, 20), False), (TODAY, True)], ids=["month-still-open", "estimated"]
)
def test_open_months_and_estimates_are_never_served_from_cache(tmp_path: Path, today: date, estimated: bool) -> None:
    month = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 10, 31))
    client = _client()
    for _ in range(2):
        with _one_month_stub(client, estimated=estimated) as stub:
            CostExplorerSource(client, cache_dir=tmp_path, today=today, check_tags=False).fetch(month)
            stub.assert_no_pending_responses()  # asked both times
    assert not list(tmp_path.glob("*.json"))


class _HtmlProxy:
    """An HTTP server on 127.0.0.1 that answers every request with a proxy's HTML error page."""

    PAGE = (
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
        b"<p>The proxy server received an invalid response from an upstream server.</p></body></html>"
    )

    def __enter__(self) -> str:
        import http.server
        import threading

        page = self.PAGE

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(502)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def test_a_proxy_answering_html_is_one_readable_line() -> None:
    from botocore.config import Config

    with _HtmlProxy() as endpoint:
        client = boto3.client(
            "ce", region_name="us-east-1", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1})
        )
        with pytest.raises(TrackerError) as raised:
            CostExplorerSource(client, today=TODAY, check_tags=False).fetch(OCTOBER)
    message = str(raised.value)
    assert "<" not in message and "\n" not in message and len(message) < 300
    assert message.startswith("Cost Explorer's endpoint answered HTTP 502 (Bad Gateway), not an AWS response")


def test_an_endpoint_that_is_down_is_one_line() -> None:
    from botocore.config import Config

    from tests.conftest import free_port

    client = boto3.client(
        "ce",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(TrackerError) as raised:
        CostExplorerSource(client, today=TODAY, check_tags=False).fetch(OCTOBER)
    assert str(raised.value).startswith("cannot reach Cost Explorer at http://127.0.0.1:")
