"""Billing exports read in place on S3, through pyarrow's S3 filesystem, partitions pruned by date.

Credentials come from the standard AWS chain as boto3 resolves it (environment, profile,
SSO, role), so ``AWS_PROFILE`` means what it means to every boto3 user; the endpoint from
``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``). Nothing is downloaded at run time: no
DuckDB extension, no copy of the export; DuckDB streams the Parquet files through pyarrow.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Any

from cost.files import select_export_files
from cost.periods import month_start
from cost.table import SpendFilter
from tracker.errors import TrackerError, UsageError, first_line

__all__ = ["register_s3_export", "split_url"]

_BILLING_PERIOD = re.compile(r"(?:^|/)BILLING_PERIOD=(\d{4})-(\d{2})(?:/|$)")
_YEAR_MONTH = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{1,2})(?:/|$)")


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` -> (bucket, prefix)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise UsageError(f"`cost.file`: {url!r} names no bucket; give s3://BUCKET/PREFIX/")
    return bucket, prefix.strip("/")


def _partition_month(path: str) -> date | None:
    found = _BILLING_PERIOD.search(path) or _YEAR_MONTH.search(path)
    return date(int(found.group(1)), int(found.group(2)), 1) if found else None


def in_range(path: str, spend_filter: SpendFilter) -> bool:
    """Whether a partition's billing month can hold spend between the filter's dates."""
    month = _partition_month(path)
    if month is None:
        return True
    if spend_filter.start is not None and month < month_start(spend_filter.start):
        return False
    return not (spend_filter.end is not None and month > spend_filter.end)


def _filesystem() -> Any:
    import boto3
    from pyarrow import fs

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise UsageError(
            "no AWS credentials found for S3: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    frozen = credentials.get_frozen_credentials()
    options: dict[str, Any] = {
        "access_key": frozen.access_key,
        "secret_key": frozen.secret_key,
        "session_token": frozen.token,
        "region": session.region_name or "us-east-1",
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, address = endpoint.partition("://")
        options.update(scheme=scheme, endpoint_override=address.rstrip("/"))
    return fs.S3FileSystem(**options)


def _explain(error: OSError, url: str, bucket: str) -> Exception:
    text = str(error)
    if "NO_SUCH_BUCKET" in text or "bucket does not exist" in text.lower():
        return UsageError(f"`cost.file`: there is no bucket {bucket!r} ({url}); check the bucket's name")
    if any(mark in text for mark in ("ACCESS_DENIED", "AccessDenied", "INVALID_ACCESS_KEY", "403", "SIGNATURE")):
        return UsageError(
            f"`cost.file`: S3 denied access to {url}: grant s3:ListBucket and s3:GetObject on it, "
            "or use other credentials (AWS_PROFILE)"
        )
    return TrackerError(f"reading {url} failed: {first_line(error)}")


def register_s3_export(con: Any, name: str, url: str, spend_filter: SpendFilter) -> str:
    """Register the export's Parquet files in range as table ``name`` on ``con``; says what was read.

    The files are selected as a local folder's are (AWS's status, manifest and set-up files
    skipped), and their columns unioned by name, as DuckDB's ``union_by_name`` does for a
    local folder: a column only later months have is read where it exists, NULL elsewhere.
    """
    from pyarrow import dataset, fs

    bucket, prefix = split_url(url)
    filesystem = _filesystem()
    try:
        listing = filesystem.get_file_info(fs.FileSelector(f"{bucket}/{prefix}", recursive=True, allow_not_found=True))
    except OSError as exc:
        raise _explain(exc, url, bucket) from exc
    found = [info.path for info in listing if info.is_file]
    if not found and filesystem.get_file_info(bucket).type == fs.FileType.NotFound:
        raise UsageError(f"`cost.file`: there is no bucket {bucket!r} ({url}); check the bucket's name")
    selected = select_export_files(found, url, parquet_only=True)
    chosen = [path for path in selected.files if in_range(path, spend_filter)]
    try:
        # An empty range still needs the columns: the first file stands for the schema.
        paths = chosen or list(selected.files[:1])
        data = dataset.dataset(paths, filesystem=filesystem, format="parquet", schema=_union(paths, filesystem))
        con.register(name, data if chosen else data.to_table().slice(0, 0))
    except OSError as exc:
        raise _explain(exc, url, bucket) from exc
    except Exception as exc:  # pyarrow's ArrowInvalid: a file that is not Parquet, or clashing types
        raise UsageError(f"`cost.file`: a file under {url} cannot be read as Parquet ({first_line(exc)})") from exc
    skipped = f"; {len(selected.skipped)} skipped (AWS status, manifest or set-up files)" if selected.skipped else ""
    return f"parquet on S3, {len(chosen)} of {len(selected.files)} files in the date range{skipped}"


def _union(paths: list[str], filesystem: Any) -> Any:
    """Every file's columns, by name; a column's type widened where months differ."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = []
    for path in paths:
        try:
            schemas.append(pq.read_schema(path, filesystem=filesystem))
        except pa.ArrowException as exc:  # not Parquet: a stray upload, a truncated copy
            raise UsageError(
                f"`cost.file`: s3://{path} is not a readable Parquet file ({first_line(exc)}); "
                "remove it from the export's prefix, or point `cost.file` at the months alone"
            ) from exc
    return pa.unify_schemas(schemas, promote_options="permissive")
