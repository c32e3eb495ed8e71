"""Validated settings: one YAML file, overridden by environment variables and flags.

Validation happens here, once, at the edge. Every error names the field, the value
given and what is allowed, and becomes a :class:`~tracker.errors.ConfigError` (exit 2).
Precedence, highest first: command-line flag, environment variable users already set
(``MLFLOW_TRACKING_URI``), the config file, the defaults below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tracker.errors import ConfigError
from tracker.metrics import EXPECTED_VALUE, OBJECTIVE_METRICS, default_direction

__all__ = [
    "CompletionCriteria",
    "ComputeConfig",
    "CostConfig",
    "Estimate",
    "Limits",
    "ObjectiveConfig",
    "ParamSpec",
    "RoiConfig",
    "Settings",
    "WarmStart",
    "likely",
    "load_settings",
]

Strategy = Literal["bayesian", "random", "grid", "hyperband"]
_TRACKING_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks"})
# How much of a bad value an error message shows: enough to recognise it, never a flood.
_SHOWN = 120


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# An Optuna journal file: a path, not a URL (see tuning.storage). Studies that a sweep
# kept in ./optuna.db before the journal became the default are still found there.
DEFAULT_STORAGE = "optuna.journal"
LEGACY_STORAGE = "optuna.db"


class _Section(BaseModel):
    # A typo in a key is an error that names it, never a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class ObjectiveConfig(_Section):
    """What a trial trains and how it is judged.

    Either ``trainer`` (a built-in scikit-learn estimator) with a ``dataset``, or
    ``function`` (``module:function``, an ordinary Optuna objective).
    """

    trainer: str | None = None
    function: str | None = None
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


class Estimate(_Section):
    """A number known only within bounds: ``{low, likely, high}``. The report uses ``likely``
    and draws the rest of the range (triangular) in its Monte Carlo."""

    low: Decimal = Field(allow_inf_nan=False)
    likely: Decimal = Field(allow_inf_nan=False)
    high: Decimal = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Estimate:
        if not self.low <= self.likely <= self.high:
            raise ValueError(f"needs low <= likely <= high, got {self.low}, {self.likely}, {self.high}")
        return self


def _as_estimate(value: Any) -> Any:
    """A mapping is a range, and its own error says what is wrong with it (not the number branch's)."""
    if not isinstance(value, Mapping):
        return value
    try:
        return Estimate.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


# An assumption of the value model: a number, or a range around its likely value.
Assumed = Annotated[Decimal | Estimate, BeforeValidator(_as_estimate)]


def likely(value: Assumed) -> Decimal:
    """The value the report's point estimate uses."""
    return value.likely if isinstance(value, Estimate) else value


def _within(value: Assumed | None, low: Decimal | None, high: Decimal | None, *, open_ends: bool = False) -> str | None:
    """Why ``value`` (every bound of a range) falls outside [low, high], or None."""
    if value is None:
        return None
    for number in (value.low, value.likely, value.high) if isinstance(value, Estimate) else (value,):
        if not number.is_finite():
            return "must be a finite number"
        below = low is not None and (number <= low if open_ends else number < low)
        above = high is not None and (number >= high if open_ends else number > high)
        if below or above:
            brackets = "()" if open_ends else "[]"
            lower = "-inf" if low is None else low
            upper = "inf" if high is None else high
            return f"{number} is outside {brackets[0]}{lower}, {upper}{brackets[1]}"
    return None


class OutcomeValues(_Section):
    """Money per prediction with each outcome (classification), each against taking no action."""

    true_positive: Assumed
    false_positive: Assumed
    false_negative: Assumed
    true_negative: Assumed


class ActionValues(_Section):
    """The simpler value model: TP = success_rate x value_if_caught - action_cost, FP = -action_cost."""

    value_if_caught: Assumed
    success_rate: Assumed
    action_cost: Assumed

    @model_validator(mode="after")
    def _rates(self) -> ActionValues:
        problem = _within(self.success_rate, Decimal(0), Decimal(1))
        if problem:
            raise ValueError(f"success_rate: {problem}")
        problem = _within(self.action_cost, Decimal(0), None)
        if problem:
            raise ValueError(f"action_cost: {problem}")
        return self


class OneOffCostConfig(_Section):
    """A development cost the cloud bill does not show (people's time, licences, labelling)."""

    name: str = Field(min_length=1, max_length=200)
    amount: Assumed

    @model_validator(mode="after")
    def _positive(self) -> OneOffCostConfig:
        problem = _within(self.amount, Decimal(0), None)
        if problem:
            raise ValueError(f"amount: {problem}")
        return self


class SpendFilter(_Section):
    """Tags that select spend (the running cost measured from the bill)."""

    tags: dict[str, str] = Field(min_length=1)


class RoiConfig(_Section):
    """The expected-value model that turns model quality into money."""

    currency: str = "USD"
    horizon_months: int = Field(12, ge=1, le=1200)
    predictions_per_month: Assumed = Decimal(20000)
    value_per_outcome: OutcomeValues | None = None
    action: ActionValues | None = None
    value_per_unit_error: Assumed | None = None
    production_positive_rate: Assumed | None = None
    baseline: Literal["no_model"] | dict[Literal["run", "model"], str] = "no_model"
    running_cost_per_month: Assumed = Decimal(0)
    running_cost_from: SpendFilter | None = None
    one_off_costs: list[OneOffCostConfig] = Field(default_factory=list)
    discount_rate_annual: Assumed = Decimal("0.10")
    ramp_up_months: int = Field(0, ge=0, le=1200)
    # How the report names the positive class in plain words ("customers who leave").
    positive_name: str = "positive cases"
    bootstrap_replicates: int = Field(1000, ge=50, le=100_000)

    @field_validator("baseline")
    @classmethod
    def _one_baseline(cls, value: Any) -> Any:
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError("baseline is 'no_model', {run: RUN_ID} or {model: 'NAME@alias'}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RoiConfig:
        if self.value_per_outcome is not None and self.action is not None:
            raise ValueError("give either value_per_outcome or action, not both")
        checks = (
            ("predictions_per_month", self.predictions_per_month, Decimal(0), None, False),
            ("running_cost_per_month", self.running_cost_per_month, Decimal(0), None, False),
            ("production_positive_rate", self.production_positive_rate, Decimal(0), Decimal(1), True),
            ("discount_rate_annual", self.discount_rate_annual, Decimal(0), Decimal(1), False),
        )
        for name, value, low, high, open_ends in checks:
            problem = _within(value, low, high, open_ends=open_ends)
            if problem:
                raise ValueError(f"{name}: {problem}")
        names = [c.name for c in self.one_off_costs]
        if len(set(names)) != len(names):
            raise ValueError("one_off_costs: each cost needs its own name")
        return self


class Settings(_Section):
    """Everything a command needs, validated."""

    experiment: str = Field("tracker-demo", min_length=1, max_length=250)
    study: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    objective: ObjectiveConfig = Field(default_factory=lambda: ObjectiveConfig())
    search_space: dict[str, ParamSpec] | None = None
    strategy: Strategy = "bayesian"
    early_stopping: Literal["median", "off"] = "off"
    limits: Limits = Field(default_factory=lambda: Limits())
    completion: CompletionCriteria = Field(default_factory=lambda: CompletionCriteria())
    warm_start: WarmStart | None = None
    # numpy and scikit-learn take seeds in [0, 2**32).
    seed: int = Field(42, ge=0, le=2**32 - 1)
    storage: str = DEFAULT_STORAGE
    tracking_uri: str = DEFAULT_TRACKING_URI
    compute: ComputeConfig = Field(default_factory=lambda: ComputeConfig())
    cost: CostConfig = Field(default_factory=lambda: CostConfig())
    roi: RoiConfig = Field(default_factory=lambda: RoiConfig())

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

    @property
    def study_name(self) -> str:
        return self.study or self.experiment


def _format_validation_error(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "literal_error":
        message = f"got {_shown(first.get('input'))}; {first['msg'].lower()}"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {_clip(field, 80)}: {_clip(message, 200)}{suffix}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    walked: list[str] = []
    for part in parents:
        walked.append(part)
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            # `limits: 5` is a mistake even when a flag sets limits.max_trials.
            raise ConfigError(f"{'.'.join(walked)}: expected a section of keys, got {_shown(child)}")
        node = child
    node[leaf] = value


# A YAML document expands its aliases when it is read; more nodes than this is an attack or a
# mistake (a "billion laughs"), never a configuration.
MAX_YAML_NODES = 100_000


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (memoised per node)."""
    import yaml

    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = MAX_YAML_NODES + 1  # a node that contains itself expands forever
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = total = min(total, MAX_YAML_NODES + 1)
    return total


def _load_yaml(text: str, path: Path) -> Any:
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise ConfigError(
                f"{path}: the YAML expands to more than {MAX_YAML_NODES:,} values through its aliases "
                "(&anchor/*alias); write the values out"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a missing, unreadable or malformed file is a ConfigError."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = _load_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from exc
    except (ValueError, OverflowError) as exc:
        # YAML reads 2026-02-30 as a date and fails to build it.
        raise ConfigError(f"{path}: a value cannot be read ({_clip(str(exc), 120)}); quote it or correct it") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def absolute_sqlite(url: str, base: Path | None = None) -> str:
    """``sqlite:///mlflow.db`` -> ``sqlite:////abs/path/mlflow.db``, resolved against ``base``.

    A relative SQLite path means "in the working directory" when the command starts;
    fixing it then keeps every later connection (and every worker process) on that file.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path = url[len(prefix) :]
    if not path or path.startswith("/") or path.startswith(":memory:"):
        return url
    return prefix + str(((base or Path.cwd()) / path).resolve())


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from a file, the environment and flag overrides (``{"limits.max_trials": 5}``).

    Overrides whose value is ``None`` are flags the user did not give and are ignored.
    """
    env = os.environ if environ is None else environ
    data = read_config_file(config_file) if config_file is not None else {}
    if env.get("MLFLOW_TRACKING_URI"):
        data["tracking_uri"] = env["MLFLOW_TRACKING_URI"]
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(data, dotted, value)
    source = str(config_file) if config_file is not None else "settings"
    if "storage" not in data:
        data["storage"] = default_storage()
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from exc
    return settings.model_copy(
        update={
            "tracking_uri": absolute_sqlite(settings.tracking_uri),
            "storage": absolute_storage(settings.storage),
        }
    )


def default_storage() -> str:
    """``optuna.journal``, or ``sqlite:///optuna.db`` where only an earlier sweep's SQLite study is."""
    if not Path(DEFAULT_STORAGE).exists() and Path(LEGACY_STORAGE).is_file():
        return f"sqlite:///{LEGACY_STORAGE}"
    return DEFAULT_STORAGE


_SQLITE_HEADER = b"SQLite format 3\x00"


def journal_path(storage: str) -> Path | None:
    """The Optuna journal file a storage names: any storage given as a path rather than a URL."""
    return None if "://" in storage else Path(storage)


def absolute_storage(storage: str) -> str:
    """A relative SQLite URL or journal path, fixed to the working directory (see absolute_sqlite).

    A path to an existing SQLite file becomes its ``sqlite:///`` URL, as optuna-dashboard
    reads such a path, so that every worker opens (and locks) it as the same database.
    """
    journal = journal_path(storage)
    if journal is None:
        return absolute_sqlite(storage)
    if ":" in storage:  # "sqlite:/x", "postgresql:host": a URL mistyped, not a file to create
        raise ConfigError(f"storage: {storage!r} is neither a URL (scheme://...) nor a journal file's path")
    path = journal.expanduser().resolve()
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER:
                return f"sqlite:///{path}"
    return str(path)
