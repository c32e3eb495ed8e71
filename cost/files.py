"""Which files of a billing export folder or S3 prefix are data: one rule for local folders and S3.

AWS writes more than line items where it delivers an export: a status table
(``cost_and_usage_data_status/cost_and_usage_data_status.parquet``), manifests
(``<report>-Manifest.json``), Athena and CloudFormation set-up files (``crawler-cfn.yml``),
Redshift commands and manifests, and Athena's ``.metadata`` files beside query results.
They are skipped by name and counted, never read as data. A folder with both Parquet and
CSV data files is an error: reading one kind would drop the other's spend silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracker.errors import UsageError

__all__ = ["ExportFiles", "select_export_files"]

_PARQUET = (".parquet",)
_CSV = (".csv", ".csv.gz")
# Folders and files AWS delivers beside the line items: status, manifests, set-up files.
_STATUS_FOLDER = "cost_and_usage_data_status"
_AWS_EXTRAS = ("-manifest.json", "manifest.json", "crawler-cfn.yml", ".sql", ".metadata", ".yml", ".yaml", ".json")


@dataclass(frozen=True)
class ExportFiles:
    """The data files of an export (sorted), their kind, and what was skipped."""

    files: tuple[str, ...]
    kind: str  # "parquet" or "csv"
    skipped: tuple[str, ...]

    def describe(self) -> str:
        """For the spend table's details: how many files were read and skipped."""
        skipped = f", {len(self.skipped)} skipped (AWS status, manifest or set-up files)" if self.skipped else ""
        return f"{len(self.files)} {self.kind} file{'s' if len(self.files) != 1 else ''}{skipped}"


def _is_aws_extra(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    name = parts[-1].lower()
    return _STATUS_FOLDER in parts or name.startswith(_STATUS_FOLDER) or name.endswith(_AWS_EXTRAS)


def select_export_files(paths: Iterable[str], where: str, *, parquet_only: bool = False) -> ExportFiles:
    """The data files among ``paths`` (everything found under ``where``), AWS's other files skipped.

    ``parquet_only``: a data export on S3, which AWS delivers as Parquet.
    """
    data: list[str] = []
    skipped: list[str] = []
    for path in paths:
        name = path.lower()
        if _is_aws_extra(path):
            skipped.append(path)
        elif name.endswith(_PARQUET) or (name.endswith(_CSV) and not parquet_only):
            data.append(path)
    parquet = sorted(p for p in data if p.lower().endswith(_PARQUET))
    csv = sorted(p for p in data if p.lower().endswith(_CSV))
    if parquet and csv:
        raise UsageError(
            f"`cost.file`: {where} holds both Parquet ({len(parquet)}) and CSV ({len(csv)}) data files; "
            "point it at one export (one format) so no spend is left out"
        )
    if not data:
        if parquet_only:
            raise UsageError(f"`cost.file`: no .parquet files under {where}; check the prefix of the data export")
        raise UsageError(f"`cost.file`: no .parquet, .csv or .csv.gz files under {where}")
    return ExportFiles(tuple(parquet or csv), "parquet" if parquet else "csv", tuple(sorted(skipped)))
