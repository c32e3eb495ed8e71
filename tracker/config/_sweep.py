"""The sweep's sections: the objective, its search space, limits, stop rules, compute and cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from tracker.config._common import (
    _Section,
)
from tracker.metrics import OBJECTIVE_METRICS, default_direction


class ParamSpec(_Section):
    """One hyperparameter: an int or float range (optionally log-scaled) or choices."""

    type: Literal["int", "float", "categorical"]
    # Finite: an infinite or NaN bound would only fail once every trial had run.
    low: float | None = Field(None, allow_inf_nan=False)
    high: float | None = Field(None, allow_inf_nan=False)
    step: float | None = Field(None, gt=0, allow_inf_nan=False)
    log: bool = False
    choices: list[str | int | float | bool | None] | None = None

    @model_validator(mode="after")
    def _check_range(self) -> ParamSpec:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("categorical needs a non-empty 'choices' list")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs 'low' and 'high'")
        if self.low >= self.high:
            raise ValueError(f"empty range: low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scaled range needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("'step' and 'log' cannot be combined")
        if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("int bounds must be whole numbers")
        return self


class ReadOptions(_Section):
    """How a CSV dataset is read: pandas.read_csv's own options, the few that real files need."""

    # None: sniffed from the first lines (',', ';', tab or '|').
    sep: str | None = Field(None, min_length=1, max_length=4)
    decimal: str = Field(".", min_length=1, max_length=1)
    encoding: str = "utf-8"


# The name a function objective's value is logged under when the config names no metric.
UNNAMED_METRIC = "objective"


class ObjectiveConfig(_Section):
    """What a trial trains and how it is judged.

    Either ``trainer`` (a built-in scikit-learn estimator) with a ``dataset``, or
    ``function`` (``module:function``, an ordinary Optuna objective).
    """

    trainer: str | None = None
    function: str | None = None
    # Where the function's module is looked for first (then the working directory); in a
    # config file, default: the file's own folder.
    function_path: str | None = None
    dataset: str = "breast_cancer"
    target: str | None = None
    read: ReadOptions = Field(default_factory=lambda: ReadOptions())
    # Columns left out of the features: identifiers, and anything known only after the outcome.
    drop_columns: list[str] = Field(default_factory=list)
    # The target value that is the positive class (1); the others are 0.
    positive_label: str | int | bool | None = None
    metric: str = "f1"
    direction: Literal["maximize", "minimize"] | None = None
    minimize_cost: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ObjectiveConfig:
        if self.trainer and self.function:
            raise ValueError("give either 'trainer' or 'function', not both")
        if self.function is not None and ":" not in self.function:
            raise ValueError(f"function must look like 'package.module:function', got {self.function!r}")
        if self.function is None and self.metric not in OBJECTIVE_METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; allowed: {', '.join(OBJECTIVE_METRICS)}")
        if self.function is not None and "metric" not in self.model_fields_set:
            # A function's own value, unnamed: logged as val_objective, never as some built-in's name.
            object.__setattr__(self, "metric", UNNAMED_METRIC)
        if self.direction is None and self.metric not in OBJECTIVE_METRICS:
            # Only a known metric has a known direction; a guess would keep the worst trials.
            raise ValueError(
                f"direction: required for the metric {self.metric!r} (maximize or minimize); only the "
                f"built-in metrics ({', '.join(OBJECTIVE_METRICS)}) have a known direction"
            )
        return self

    @property
    def resolved_direction(self) -> Literal["maximize", "minimize"]:
        return self.direction or default_direction(self.metric)

    @property
    def resolved_trainer(self) -> str:
        return self.trainer or "random_forest"


class Limits(_Section):
    """AMT's ResourceLimits, plus a dollar budget that AMT does not have."""

    max_trials: int = Field(20, ge=1)
    max_parallel: int = Field(1, ge=1, le=256)
    max_runtime_seconds: float | None = Field(None, gt=0)
    budget_usd: Decimal | None = Field(None, gt=0)
    # Trials allowed to fail before the sweep's exit code says it failed (1); the sweep itself goes on.
    max_failed_trials: int = Field(0, ge=0)


class CompletionCriteria(_Section):
    """AMT's TuningJobCompletionCriteria."""

    target_value: float | None = None
    max_trials_without_improvement: int | None = Field(None, ge=1)


class WarmStart(_Section):
    """Seed a new study with the best trials of a parent study in the same storage."""

    from_study: str
    top_k: int = Field(5, ge=1)


class ComputeConfig(_Section):
    """The instance a trial is priced as, for estimated cost."""

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = Field(1, ge=1)
    hourly_usd: Decimal | None = Field(None, ge=0)
    prices: dict[str, Decimal] = Field(default_factory=dict)


CostSource = Literal["explorer", "billing-file", "estimate"]
CostMetric = Literal["UnblendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost", "BlendedCost"]


class CostConfig(_Section):
    """Where the project's spend comes from (``tracker cost`` and ``tracker report``)."""

    source: CostSource = "estimate"
    # A local file or folder, or an s3://bucket/prefix/ of a data export.
    file: str | None = None
    start: date | None = None
    end: date | None = None
    granularity: Literal["daily", "monthly"] = "monthly"
    metric: CostMetric = "UnblendedCost"
    cache_dir: Path | None = None
    # Why this window and these tags were chosen, when they are meant not to match the runs (a
    # bill from the production account, a sample): page 1 says so instead of warning.
    window_reason: str | None = Field(None, min_length=1, max_length=300)


class ExecutionConfig(_Section):
    """Where the sweep's workers run: processes on this machine, or tasks on a Ray cluster.

    Ray places the workers, Optuna decides, MLflow records: each Ray task runs the same
    trial loop as a local worker, against the same shared study.
    """

    backend: Literal["local", "ray"] = "local"
    # Ray only: "auto" (a cluster started with `ray start` that this machine belongs to),
    # "ray://host:10001" (Ray Client), a head node's host:port, or none: a Ray cluster of this
    # machine alone, started for the sweep and stopped after it.
    address: str | None = Field(None, min_length=1)
    # Trials running at once. Ray: default the cluster's CPUs / cpus_per_trial; local: limits.max_parallel.
    workers: int | None = Field(None, ge=1, le=1024)
    cpus_per_trial: float = Field(1, gt=0)
    gpus_per_trial: float = Field(0, ge=0)
    # How often Ray starts a worker again after its node or process was lost.
    max_retries: int = Field(3, ge=0)
    # The instance type of the Ray nodes, for estimated cost; a node started with the Ray label
    # instance-type=<type> is priced as its own type.
    instance_type: str | None = Field(None, min_length=1)
    # Each running trial records a heartbeat (Optuna RDB storages); a trial silent for the
    # grace period is failed by the other workers. Off only to show what it prevents.
    heartbeat: bool = True
    # A trial failed by the heartbeat is run once more with the same parameters.
    retry_failed_trials: bool = False
