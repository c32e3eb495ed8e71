"""The whole configuration, validated once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from tracker.config._common import (
    _TRACKING_SCHEMES,
    DEFAULT_STORAGE,
    DEFAULT_TRACKING_URI,
    Strategy,
    _Section,
    _shown,
)
from tracker.config._roi import (
    RealizedConfig,
    RoiConfig,
)
from tracker.config._sweep import (
    CompletionCriteria,
    ComputeConfig,
    CostConfig,
    ExecutionConfig,
    Limits,
    ObjectiveConfig,
    ParamSpec,
    WarmStart,
)
from tracker.metrics import EXPECTED_VALUE


class Settings(_Section):
    """Everything a command needs, validated."""

    experiment: str = Field("tracker-demo", min_length=1, max_length=250)
    study: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    objective: ObjectiveConfig = Field(default_factory=lambda: ObjectiveConfig())
    search_space: dict[str, ParamSpec] | None = None
    strategy: Strategy = "bayesian"
    # Optuna's plots of the sweep (history, importance, parallel coordinates, intermediate
    # values) on its parent run; about two seconds at the end of a sweep.
    plots: bool = True
    early_stopping: Literal["median", "off"] = "off"
    limits: Limits = Field(default_factory=lambda: Limits())
    execution: ExecutionConfig = Field(default_factory=lambda: ExecutionConfig())
    completion: CompletionCriteria = Field(default_factory=lambda: CompletionCriteria())
    warm_start: WarmStart | None = None
    # numpy and scikit-learn take seeds in [0, 2**32).
    seed: int = Field(42, ge=0, le=2**32 - 1)
    storage: str = DEFAULT_STORAGE
    tracking_uri: str = DEFAULT_TRACKING_URI
    compute: ComputeConfig = Field(default_factory=lambda: ComputeConfig())
    cost: CostConfig = Field(default_factory=lambda: CostConfig())
    roi: RoiConfig = Field(default_factory=lambda: RoiConfig())
    realized: RealizedConfig = Field(default_factory=lambda: RealizedConfig())

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_are_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, Mapping | list | tuple | set) or item is None:
                    raise ValueError(f"the value of tag {str(key)!r} must be text or a number, not {_shown(item)}")
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _off_is_false(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `off` as false; the documented value is `off`.
        return "off" if value is False else value

    @field_validator("experiment")
    @classmethod
    def _registrable(cls, value: str) -> str:
        # The champion is registered under the experiment's name, and the Model Registry
        # refuses '/' and ':' in names.
        if "/" in value or ":" in value or value.strip() in ("", ".", ".."):
            raise ValueError(f"{_shown(value)} cannot name a registered model; use letters, digits, '-', '_' or '.'")
        if not value.isprintable():
            raise ValueError("the name holds control characters")
        return value

    @field_validator("tracking_uri")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.partition(":")[0].lower() if ":" in value else "file"
        if scheme.split("+")[0] not in _TRACKING_SCHEMES:
            raise ValueError(
                f"unknown scheme {scheme!r} in {_shown(value)}; use sqlite:///mlflow.db, "
                "postgresql://..., http(s)://host:port or file:///path"
            )
        return value

    @model_validator(mode="after")
    def _money_needs_values(self) -> Settings:
        o, r = self.objective, self.roi
        if o.function is None and o.metric == EXPECTED_VALUE:
            if r.value_per_outcome is None and r.action is None and r.value_per_unit_error is None:
                raise ValueError(
                    "objective.metric expected_value needs the roi section's values: roi.value_per_outcome or "
                    "roi.action (a classifier), or roi.value_per_unit_error (a regression)"
                )
        return self

    @model_validator(mode="after")
    def _local_workers_are_processes(self) -> Settings:
        # On this machine, execution.workers and limits.max_parallel are one setting.
        workers = self.execution.workers
        if self.execution.backend != "local" or workers is None:
            return self
        if "max_parallel" in self.limits.model_fields_set and self.limits.max_parallel != workers:
            raise ValueError(
                f"execution.workers ({workers}) and limits.max_parallel ({self.limits.max_parallel}) disagree; "
                "on the local backend they are one setting: give one of them"
            )
        object.__setattr__(self.limits, "max_parallel", workers)
        return self

    @property
    def study_name(self) -> str:
        return self.study or self.experiment
