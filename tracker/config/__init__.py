"""Validated settings: one YAML file, overridden by environment variables and flags.

Validation happens here, once, at the edge. Every error names the field, the value
given and what is allowed, and becomes a :class:`~tracker.errors.ConfigError` (exit 2).
Precedence, highest first: command-line flag, environment variable users already set
(``MLFLOW_TRACKING_URI``), the config file, the defaults below.
"""

from __future__ import annotations

from tracker.config._common import DEFAULT_STORAGE, DEFAULT_TRACKING_URI, LEGACY_STORAGE, Strategy
from tracker.config._loading import (
    MAX_YAML_NODES,
    absolute_sqlite,
    absolute_storage,
    default_storage,
    journal_path,
    load_settings,
    read_config_file,
)
from tracker.config._roi import (
    ActionValues,
    Assumed,
    Estimate,
    OneOffCostConfig,
    RealizedConfig,
    RoiConfig,
    RunningCostFrom,
    Stated,
    ValuePerOutcome,
    likely,
    source_and_owner,
)
from tracker.config._settings import Settings
from tracker.config._sweep import (
    UNNAMED_METRIC,
    CompletionCriteria,
    ComputeConfig,
    CostConfig,
    CostMetric,
    CostSource,
    ExecutionConfig,
    Limits,
    ObjectiveConfig,
    ParamSpec,
    ReadOptions,
    WarmStart,
)

__all__ = [
    "DEFAULT_STORAGE",
    "DEFAULT_TRACKING_URI",
    "LEGACY_STORAGE",
    "MAX_YAML_NODES",
    "UNNAMED_METRIC",
    "ActionValues",
    "Assumed",
    "CompletionCriteria",
    "ComputeConfig",
    "CostConfig",
    "CostMetric",
    "CostSource",
    "Estimate",
    "ExecutionConfig",
    "Limits",
    "ObjectiveConfig",
    "OneOffCostConfig",
    "ParamSpec",
    "ReadOptions",
    "RealizedConfig",
    "RoiConfig",
    "RunningCostFrom",
    "Settings",
    "Stated",
    "Strategy",
    "ValuePerOutcome",
    "WarmStart",
    "absolute_sqlite",
    "absolute_storage",
    "default_storage",
    "journal_path",
    "likely",
    "load_settings",
    "read_config_file",
    "source_and_owner",
]
