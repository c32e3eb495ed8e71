"""AWS Cost Explorer: ``get_cost_and_usage`` filtered by cost-allocation tags, grouped by service.

IAM permissions: ``ce:GetCostAndUsage`` for the spend, ``ce:ListCostAllocationTags`` for
the check that the tag is active. Every request costs the caller $0.01, so final answers
are cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cost.periods import exclusive_end, month_start, validate_range
from cost.table import SpendFilter, SpendRow, SpendTable, merge_rows
from tracker.errors import TrackerError, UsageError, first_line

if TYPE_CHECKING:
    from mypy_boto3_ce import CostExplorerClient

__all__ = ["CostExplorerSource", "build_request", "make_client"]

GRANULARITY = {"daily": "DAILY", "monthly": "MONTHLY"}
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "LimitExceededException", "RequestLimitExceeded"}
_EXPIRED = {
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
_CREDENTIAL_HINT = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
    "or use `cost.source` billing-file or `cost.source` estimate"
)
# Cost Explorer keeps 13 months of history (38 with multi-year data enabled).
HISTORY_MONTHS = 13


def make_client(*, region: str = "us-east-1") -> CostExplorerClient:
    """A Cost Explorer client with botocore's adaptive retry mode for throttling."""
    import boto3
    from botocore.config import Config

    client: CostExplorerClient = boto3.client(
        "ce", region_name=region, config=Config(retries={"mode": "adaptive", "max_attempts": 10})
    )
    return client


def _tag_filter(tags: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    parts = [{"Tags": {"Key": key, "Values": [value], "MatchOptions": ["EQUALS"]}} for key, value in tags]
    return parts[0] if len(parts) == 1 else {"And": parts}


def build_request(spend_filter: SpendFilter) -> dict[str, Any]:
    """The ``get_cost_and_usage`` arguments for a filter (without a page token)."""
    if spend_filter.start is None or spend_filter.end is None:
        raise UsageError("Cost Explorer needs `cost.start` and `cost.end`")
    if not spend_filter.tags:
        raise UsageError("Cost Explorer needs at least one cost-allocation tag in `tags` (KEY=VALUE)")
    request: dict[str, Any] = {
        "TimePeriod": {"Start": spend_filter.start.isoformat(), "End": exclusive_end(spend_filter.end).isoformat()},
        "Granularity": GRANULARITY[spend_filter.granularity],
        "Metrics": [spend_filter.metric],
        "Filter": _tag_filter(spend_filter.tags),
        # By record type too, so usage, credits, refunds and tax stay apart.
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "RECORD_TYPE"}],
    }
    return request


class _Cache:
    """Final Cost Explorer answers on disk, keyed by the whole request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: Mapping[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.folder / f"{digest}.json"

    def get(self, key: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        path = self._path(key)
        try:
            pages: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["pages"]
            return pages
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: Mapping[str, Any], pages: list[dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"request": key, "pages": pages}, default=str), encoding="utf-8")
        temporary.replace(path)  # atomic: a reader sees the old answer or the new, never half


class CostExplorerSource:
    """Spend from Cost Explorer. The client is injected; tests hand in a stubbed one."""

    name = "explorer"

    def __init__(
        self,
        client: CostExplorerClient | None = None,
        *,
        cache_dir: Path | None = None,
        refresh: bool = False,
        today: date | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        check_tags: bool = True,
    ) -> None:
        self._check = check_tags
        self._client = client
        self._cache = _Cache(cache_dir) if cache_dir is not None else None
        self._refresh = refresh
        self._today = today
        self._sleep = sleep
        self._max_attempts = max_attempts
        self.requests_made = 0

    @property
    def client(self) -> CostExplorerClient:
        if self._client is None:
            self._client = make_client()
        return self._client

    def fetch(self, spend_filter: SpendFilter) -> SpendTable:
        validate_range(spend_filter.start, spend_filter.end)
        request = build_request(spend_filter)
        today = self._today or date.today()
        assert spend_filter.start is not None and spend_filter.end is not None
        oldest = month_start(today)
        for _ in range(HISTORY_MONTHS - 1):
            oldest = month_start(oldest - timedelta(days=1))
        if spend_filter.start < oldest:
            raise UsageError(
                f"`cost.start` {spend_filter.start} is beyond Cost Explorer's {HISTORY_MONTHS} months of history "
                f"(the oldest day available is {oldest}); use `cost.source` billing-file for older spend"
            )
        notes = list(self._check_tags([key for key, _ in spend_filter.tags])) if self._check else []
        key = {"request": request, "endpoint": str(getattr(self.client.meta, "endpoint_url", ""))}
        pages = None if (self._refresh or self._cache is None) else self._cache.get(key)
        cached = pages is not None
        if pages is None:
            pages = self._fetch_pages(request)
            # Only a final answer is kept: a month still open, or any figure AWS marks
            # estimated, will change, so it is asked for again next time.
            final = exclusive_end(spend_filter.end) <= month_start(today) and not any(
                result.get("Estimated") for page in pages for result in page.get("ResultsByTime", [])
            )
            if final and self._cache is not None:
                self._cache.put(key, pages)
        rows = _rows(pages, spend_filter.metric)
        details = (
            ("api", "ce:GetCostAndUsage"),
            ("requests", str(0 if cached else self.requests_made)),
            ("cached", "yes" if cached else "no"),
            ("end_exclusive", request["TimePeriod"]["End"]),
        )
        return SpendTable(self.name, spend_filter, merge_rows(rows), tuple(notes), details)

    def _check_tags(self, keys: list[str]) -> list[str]:
        """Fail plainly when a tag is not an active cost-allocation tag: the spend would be empty."""
        from botocore.exceptions import ClientError

        try:
            response = self._call("list_cost_allocation_tags", explain=False, TagKeys=keys, Type="UserDefined")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "AccessDeniedException":
                # Member accounts of an organization cannot list the payer's tags.
                return [
                    f"could not check that {', '.join(keys)} is an active cost-allocation tag "
                    "(ce:ListCostAllocationTags denied); an inactive tag gives empty spend"
                ]
            raise _explain(exc, "list_cost_allocation_tags") from exc
        status = {t["TagKey"]: t.get("Status") for t in response.get("CostAllocationTags", [])}
        for key in keys:
            if status.get(key) != "Active":
                state = "inactive" if key in status else "not a cost-allocation tag"
                raise UsageError(
                    f"tag {key!r} is {state} in this account, so Cost Explorer would return no spend for it; "
                    "activate it under Billing > Cost allocation tags (it applies from then on, within 24 hours)"
                )
        return []

    def _fetch_pages(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        # get_cost_and_usage has no paginator in boto3: follow NextPageToken by hand.
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            arguments = dict(request)
            if token:
                arguments["NextPageToken"] = token
            response = self._call("get_cost_and_usage", **arguments)
            pages.append(
                {
                    "ResultsByTime": response.get("ResultsByTime", []),
                    "GroupDefinitions": response.get("GroupDefinitions", []),
                }
            )
            token = response.get("NextPageToken")
            if not token:
                return pages

    def _call(self, operation: str, *, explain: bool = True, **arguments: Any) -> dict[str, Any]:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        for attempt in range(1, self._max_attempts + 1):
            try:
                self.requests_made += operation == "get_cost_and_usage"
                answer: dict[str, Any] = getattr(self.client, operation)(**arguments)
                return answer
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise UsageError(f"no AWS credentials found: {_CREDENTIAL_HINT}") from exc
            except (ConnectionError, HTTPClientError) as exc:
                endpoint = self.client.meta.endpoint_url
                raise TrackerError(
                    f"cannot reach Cost Explorer at {endpoint} ({type(exc).__name__}); check the network, the "
                    "proxy or AWS_ENDPOINT_URL_COST_EXPLORER, or use `cost.source` billing-file"
                ) from exc
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code in _THROTTLED and attempt < self._max_attempts:
                    # Exponential backoff with full jitter, as AWS recommends.
                    self._sleep(random.uniform(0, min(20.0, 0.5 * 2**attempt)))
                    continue
                if not explain:
                    raise
                raise _explain(exc, operation) from exc
        raise AssertionError("unreachable")


def _plain(text: str) -> str:
    """An error message as one short line: a proxy's HTML page reduced to its words."""
    import html
    import re

    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", text))).strip()
    return words if len(words) <= 160 else words[:157] + "..."


def _explain(exc: Any, operation: str) -> Exception:
    code = str(exc.response["Error"].get("Code", ""))
    message = _plain(str(exc.response["Error"].get("Message", "")))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code.isdigit() or not code:
        # Not an AWS error code: something else (a proxy, a wrong endpoint) answered.
        return TrackerError(
            f"Cost Explorer's endpoint answered HTTP {status or code} ({message or 'no message'}), not an AWS "
            "response: check the proxy or AWS_ENDPOINT_URL_COST_EXPLORER and rerun, or use `cost.source` billing-file"
        )
    permission = "ce:GetCostAndUsage" if operation == "get_cost_and_usage" else "ce:ListCostAllocationTags"
    if code in _EXPIRED:
        return UsageError(
            f"the AWS credentials were rejected or have expired ({code}): refresh them, {_CREDENTIAL_HINT}"
        )
    if code == "AccessDeniedException":
        return UsageError(
            f"Cost Explorer denied access ({code}): grant {permission}, or use `cost.source` billing-file"
        )
    if code == "DataUnavailableException":
        return TrackerError(
            f"Cost Explorer has no data for that period yet ({code}); data for a new account or a new tag "
            "arrives within 24 hours: try later, or use `cost.source` estimate"
        )
    if code in _THROTTLED:
        return TrackerError(f"Cost Explorer kept throttling the requests ({code}); wait a minute and rerun")
    if code == "BillExpirationException":
        return UsageError(f"Cost Explorer: {message} ({code}); use `cost.source` billing-file for older spend")
    return TrackerError(f"Cost Explorer refused {operation} ({code}): {message}")


# What tracker asks for; an answer cached before replies kept their definitions was grouped so.
_OUR_GROUPS = [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "RECORD_TYPE"}]


@dataclass(frozen=True)
class _Grouping:
    """Which key of a group is the service, the record type, and each tag, by ``GroupDefinitions``."""

    service: int | None
    record_type: int | None
    tags: dict[str, int]

    @classmethod
    def of(cls, definitions: list[dict[str, str]]) -> _Grouping:
        where = {(d.get("Type"), d.get("Key")): i for i, d in enumerate(definitions or _OUR_GROUPS)}
        tags = {key: i for (kind, key), i in where.items() if kind == "TAG" and key}
        return cls(where.get(("DIMENSION", "SERVICE")), where.get(("DIMENSION", "RECORD_TYPE")), tags)

    def keeps(self, keys: list[str], tags: tuple[tuple[str, str], ...]) -> bool:
        """Whether a group carries every filter tag it is grouped by (``project$churn``)."""
        return all(keys[self.tags[key]] == f"{key}${value}" for key, value in tags if key in self.tags)


def _rows(pages: list[dict[str, Any]], metric: str, tags: tuple[tuple[str, str], ...] = ()) -> list[SpendRow]:
    """Rows from Cost Explorer's pages, each group read by its page's ``GroupDefinitions``:
    a TAG key (``project$churn``) is a tag value, never a service."""
    rows: list[SpendRow] = []
    for page in pages:
        grouping = _Grouping.of(page.get("GroupDefinitions", []))
        for result in page.get("ResultsByTime", []):
            start = date.fromisoformat(result["TimePeriod"]["Start"])
            end = date.fromisoformat(result["TimePeriod"]["End"])
            estimated = bool(result.get("Estimated", False))
            for group in result.get("Groups", []):
                keys = group["Keys"]
                if not grouping.keeps(keys, tags):
                    continue
                figure = group["Metrics"][metric]
                try:
                    amount = Decimal(figure["Amount"])  # exactly the string AWS sent
                except InvalidOperation as exc:
                    raise TrackerError(
                        f"Cost Explorer sent an amount that is not a number: {figure['Amount']!r}"
                    ) from exc
                service = keys[grouping.service] if grouping.service is not None else "(all services)"
                record = keys[grouping.record_type] if grouping.record_type is not None else "Usage"
                rows.append(
                    SpendRow(start, end, service, amount, figure["Unit"], estimated, charge_type_of_record(record))
                )
    return rows


def recorded_reply(path: Path, spend_filter: SpendFilter, source: str) -> SpendTable:
    """Spend from a recorded ``GetCostAndUsage`` reply (one page, or a list of pages), in the filter's dates.

    Groups are read by the reply's ``GroupDefinitions``. A filter tag the reply is grouped by
    selects its groups; one it is not grouped by is taken as already applied when the reply
    was recorded (as tracker's own requests apply it), and the table says so.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"`cost.file`: {path} is not a readable JSON file ({first_line(exc)})") from exc
    pages = data if isinstance(data, list) else [data]
    if not pages or not all(isinstance(page, dict) and "ResultsByTime" in page for page in pages):
        raise UsageError(f"`cost.file`: {path} is not a Cost Explorer reply (no ResultsByTime)")
    metrics = {m for page in pages for r in page["ResultsByTime"] for g in r.get("Groups", []) for m in g["Metrics"]}
    if metrics and spend_filter.metric not in metrics:
        raise UsageError(
            f"`cost.metric` {spend_filter.metric} is not in the reply {path}; it holds {', '.join(sorted(metrics))}"
        )
    grouped = {key for page in pages for key in _Grouping.of(page.get("GroupDefinitions", [])).tags}
    kept = [
        {**page, "ResultsByTime": [r for r in page["ResultsByTime"] if _in_dates(r, spend_filter)]} for page in pages
    ]
    notes = tuple(
        f"the reply is not grouped by tag {key!r}: it is taken as recorded with that tag as its filter"
        for key, _ in spend_filter.tags
        if key not in grouped
    )
    rows = merge_rows(_rows(kept, spend_filter.metric, spend_filter.tags))
    details = (("format", "Cost Explorer reply"), ("path", str(path)))
    return SpendTable(source, spend_filter, rows, notes, details)


def _in_dates(result: dict[str, Any], spend_filter: SpendFilter) -> bool:
    start = date.fromisoformat(result["TimePeriod"]["Start"])
    return not (
        (spend_filter.start is not None and start < spend_filter.start)
        or (spend_filter.end is not None and start > spend_filter.end)
    )


def charge_type_of_record(record_type: str) -> str:
    """Cost Explorer's RECORD_TYPE ("Usage", "Credit", "Recurring reservation fee", ...) as a charge type."""
    text = record_type.lower()
    if text in ("credit", "refund", "tax"):
        return text
    if "discount" in text:
        return "credit"
    if "fee" in text or "purchase" in text:
        return "fee"
    if "usage" in text or "negation" in text:
        return "usage"
    return "adjustment"
