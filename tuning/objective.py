"""What one trial does: a built-in trainer on a dataset, or the user's Optuna objective."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from tracker.config import UNNAMED_METRIC, ObjectiveConfig, ParamSpec, RoiConfig, likely
from tracker.errors import ConfigError, TrackerError, first_line
from tracker.metrics import EXPECTED_VALUE, Task, classification_metrics, prefixed, regression_metrics, task_of
from tracker.record import layout
from tracker.record.writes import DataInput
from tracker.value import (
    Baseline,
    Confusion,
    Scored,
    baseline_of,
    best_threshold,
    confusion_at,
    expected_value,
    values_of,
)
from tuning.datasets import Split, load_dataset, split_dataset
from tuning.space import suggest
from tuning.trainers import STAGES, TrainerSpec, get_trainer, with_encoding

__all__ = [
    "BuiltinObjective",
    "FunctionObjective",
    "Refit",
    "TrialOutcome",
    "build_objective",
    "without_working_directory",
]


@dataclass(frozen=True)
class TrialOutcome:
    """What a finished trial measured: ``val_<m>``/``test_<m>`` metrics and the optimised value."""

    value: float
    metrics: dict[str, float]
    # Intermediate values, when the trial could not report them to Optuna (multi-objective).
    steps: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Refit:
    """The best trial's model trained again, with its predictions on each split."""

    model: Any
    input_example: pd.DataFrame
    predictions: dict[str, pd.DataFrame]  # "val" and "test": y_true, y_pred[, y_score]
    metrics: dict[str, float]


class BuiltinObjective:
    """A built-in scikit-learn trainer on a dataset, trained in stages that can be pruned."""

    report_steps = True

    def __init__(
        self, config: ObjectiveConfig, space: Mapping[str, ParamSpec] | None, *, seed: int, roi: RoiConfig | None = None
    ) -> None:
        # expected_value: money per prediction, from the roi section's values (which also say the task).
        self.values = values_of(roi) if roi is not None and config.metric == EXPECTED_VALUE else None
        # The same baseline and capacity as the report: the value logged is the value over today's practice.
        self.baseline = baseline_of(roi) if roi is not None else Baseline("no_action")
        self.max_action_rate = (
            roi.capacity_per_month / likely(roi.predictions_per_month)
            if roi is not None and roi.capacity_per_month is not None and likely(roi.predictions_per_month) > 0
            else None
        )
        self.value_per_unit_error = roi.value_per_unit_error if roi is not None else None
        if config.metric == EXPECTED_VALUE:
            self.task: Task = "classification" if self.values is not None else "regression"
        else:
            self.task = task_of(config.metric)
        self.trainer: TrainerSpec = get_trainer(config.resolved_trainer, self.task)
        self.metric = config.metric
        self.metric_key = layout.val_metric(config.metric)
        self.space: dict[str, ParamSpec] = dict(space) if space else dict(self.trainer.default_space)
        self.seed = seed
        _check_space(self.trainer, self.task, self.space, seed)
        self.dataset = load_dataset(config, task=self.task)
        self.split: Split = split_dataset(self.dataset, seed=seed)
        self.binary = self.task == "classification" and len(np.unique(self.dataset.target)) == 2
        if self.values is not None and not self.binary:
            raise ConfigError("objective.metric: expected_value needs a binary target (set objective.positive_label)")
        self._data_inputs: tuple[DataInput, ...] | None = None

    def __call__(self, trial: optuna.Trial) -> TrialOutcome:
        params = suggest(trial, self.space)
        steps: list[tuple[int, float]] = []
        model = self._train(params, trial, steps)
        metrics = self._metrics(model)
        return TrialOutcome(metrics[self.metric_key], metrics, tuple(steps))

    def _metrics(self, model: Any) -> dict[str, float]:
        return {**self._evaluate(model, "val"), **self._evaluate(model, "test"), **self._expected_values(model)}

    def _objective_value(self, model: Any) -> float:
        """The validation figure the sweep optimises, for an intermediate step."""
        if self.metric == EXPECTED_VALUE:
            return self._expected_values(model)[self.metric_key]
        return self._evaluate(model, "val")[self.metric_key]

    def _expected_values(self, model: Any) -> dict[str, float]:
        """Money per prediction on validation and test (``objective.metric: expected_value``).

        A classifier is judged at its own best threshold on validation, under the production
        rate; a regression's value is minus the cost of its errors.
        """
        if self.metric != EXPECTED_VALUE:
            return {}
        split = self.split
        if self.values is None:
            unit = likely(self.value_per_unit_error) if self.value_per_unit_error is not None else Decimal(0)
            return {
                f"{part}_{EXPECTED_VALUE}": float(-unit * Decimal(repr(float(np.mean(np.abs(y - model.predict(x)))))))
                for part, x, y in (("val", split.x_val, split.y_val), ("test", split.x_test, split.y_test))
            }
        val_scores, test_scores = self._predict(model, split.x_val)[1], self._predict(model, split.x_test)[1]
        if val_scores is None or test_scores is None:
            raise ConfigError(f"objective.metric: expected_value needs scores; {self.trainer.name} gives none")
        val, test = Scored.of(split.y_val, val_scores), Scored.of(split.y_test, test_scores)
        threshold = best_threshold(val, self.values, self.max_action_rate)
        return {
            layout.val_metric(EXPECTED_VALUE): float(self._over_baseline(confusion_at(val, threshold))),
            layout.TEST_PREFIX + EXPECTED_VALUE: float(self._over_baseline(confusion_at(test, threshold))),
            layout.val_metric("threshold"): threshold,
        }

    def _over_baseline(self, counts: Confusion) -> Decimal:
        """Expected value per prediction over the baseline (another model's baseline: over acting on nobody)."""
        assert self.values is not None
        model = expected_value(counts, self.values)
        if self.baseline.kind == "model":
            return model
        rate = self.values.production_positive_rate
        return model - self.baseline.value_per_prediction(self.values, counts.positive_rate if rate is None else rate)

    def _train(self, params: Mapping[str, Any], trial: optuna.Trial | None, steps: list[tuple[int, float]]) -> Any:
        try:
            estimator = self.trainer.make(self.task, params, self.seed)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"search_space: {self.trainer.name} rejects {dict(params)}: {exc}") from exc
        model = with_encoding(estimator, self.dataset.categorical)
        budget_param = self.trainer.budget_param
        split = self.split
        if budget_param is None or budget_param not in params:
            model.fit(split.x_train, split.y_train)
            return model
        budget = int(params[budget_param])
        for step, fraction in enumerate(STAGES):
            # warm_start keeps the trees grown so far: each stage only adds the difference.
            estimator.set_params(**{budget_param: max(1, round(budget * fraction))})
            model.fit(split.x_train, split.y_train)
            if trial is not None and fraction < 1.0:
                value = self._objective_value(model)
                steps.append((step, value))
                if not self.report_steps:
                    continue
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after {fraction:.0%} of {budget_param}={budget}")
        return model

    def _predict(self, model: Any, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        y_pred = model.predict(x)
        if self.task != "classification" or not hasattr(model, "predict_proba"):
            return y_pred, None
        proba = model.predict_proba(x)
        return y_pred, (proba[:, 1] if self.binary else proba)

    def _evaluate(self, model: Any, part: str) -> dict[str, float]:
        x, y = (self.split.x_val, self.split.y_val) if part == "val" else (self.split.x_test, self.split.y_test)
        y_pred, y_score = self._predict(model, x)
        if self.task == "classification":
            return prefixed(part, classification_metrics(y, y_pred, y_score))
        return prefixed(part, regression_metrics(y, y_pred))

    def data_inputs(self) -> tuple[DataInput, ...]:
        """The three splits as MLflow datasets (name, digest, source, schema), for the runs' lineage."""
        if self._data_inputs is None:
            self._data_inputs = self._describe_splits()
        return self._data_inputs

    def _describe_splits(self) -> tuple[DataInput, ...]:
        import warnings

        from mlflow.data.pandas_dataset import from_pandas

        target = self.dataset.target_name
        parts = (
            ("training", self.split.x_train, self.split.y_train),
            ("validation", self.split.x_val, self.split.y_val),
            ("test", self.split.x_test, self.split.y_test),
        )
        out = []
        # MLflow warns that a loader's name could be several kinds of source, and about integer columns.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for context, x, y in parts:
                frame = x.assign(**{target: y})
                described = from_pandas(
                    frame, source=self.dataset.source, name=self.dataset.name, targets=target
                ).to_dict()
                out.append(
                    DataInput(
                        name=described["name"],
                        digest=described["digest"],
                        source_type=described["source_type"],
                        source=described["source"],
                        schema=described.get("schema"),
                        profile=described.get("profile"),
                        context=context,
                    )
                )
        return tuple(out)

    def refit(self, params: Mapping[str, Any]) -> Refit:
        """Train ``params`` again on the same split and seed: the same model the trial had."""
        model = self._train(params, None, [])
        predictions: dict[str, pd.DataFrame] = {}
        for part, x, y in (("val", self.split.x_val, self.split.y_val), ("test", self.split.x_test, self.split.y_test)):
            y_pred, y_score = self._predict(model, x)
            frame = pd.DataFrame({"y_true": y, "y_pred": y_pred})
            if self.binary and y_score is not None:
                frame["y_score"] = y_score
            predictions[part] = frame
        return Refit(model, self.split.x_train.head(5), predictions, self._metrics(model))


def _check_space(trainer: TrainerSpec, task: Task, space: Mapping[str, ParamSpec], seed: int) -> None:
    """Before the first trial: every name is a parameter of the estimator, and the estimator
    accepts each bound and choice (scikit-learn's own parameter validation, without fitting)."""
    known = set(trainer.make(task, {}, seed).get_params())
    for name, spec in space.items():
        # A pipeline's parameters are named step__param; ours are passed to its last step.
        if name not in known and not any(key.endswith(f"__{name}") for key in known):
            raise ConfigError(f"search_space.{name}: {trainer.name} has no parameter {name!r}")
        values = spec.choices if spec.type == "categorical" else [spec.low, spec.high]
        for value in values or []:
            if spec.type == "int" and value is not None:
                value = int(value)
            try:
                model = trainer.make(task, {name: value}, seed)
                for step in getattr(model, "steps", [(None, model)]):
                    validate = getattr(step[1], "_validate_params", None)
                    if validate is not None:
                        validate()
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"search_space.{name}: {trainer.name} rejects {name}={value!r}: {first_line(exc)}"
                ) from exc


class FunctionObjective:
    """The user's own Optuna objective, ``(trial) -> float | dict[str, float]``, unchanged.

    A float is logged as ``val_<metric>``. A dict names its metrics: keys that start with
    ``val_`` or ``test_`` are logged as given, others get ``val_``; the optimised value is
    ``metric`` (or ``val_<metric>``); with no metric in the config, a dict of one value is
    the objective, logged under its name and as ``val_objective``. With ``search_space`` the
    function is called ``(trial, params)``, the params drawn from the space.
    """

    task: Task | None = None
    binary = False
    report_steps = True

    def __init__(self, config: ObjectiveConfig, space: Mapping[str, ParamSpec] | None = None) -> None:
        assert config.function is not None
        self.function: Callable[..., Any] = _import_function(config.function, config.function_path)
        self.metric = config.metric
        self.metric_key = layout.val_metric(config.metric)
        self.unnamed = config.metric == UNNAMED_METRIC
        # search_space is offered as a second argument, filled by the study's sampler; a
        # function that takes the trial alone would silently ignore it.
        self.space = dict(space) if space else None
        if self.space is not None and not _takes_params(self.function):
            raise ConfigError(
                f"search_space: {config.function} takes only the trial, so it would ignore the space; "
                "give it a second argument, params (filled from the space) or remove search_space"
            )

    def __call__(self, trial: optuna.Trial) -> TrialOutcome:
        result = self.function(trial, suggest(trial, self.space)) if self.space is not None else self.function(trial)
        if isinstance(result, Mapping) and self.unnamed and len(result) == 1:
            # One named value and no metric in the config: that value is the objective.
            [(name, value)] = result.items()
            result = {str(name): value, UNNAMED_METRIC: value}
        if isinstance(result, Mapping):
            for key in result:
                if not _METRIC_NAME.fullmatch(str(key)):
                    raise TrackerError(
                        f"metric {str(key)[:60]!r} is a name MLflow refuses; "
                        "use letters, digits and _ - . : / or spaces"
                    )
            metrics = {
                (k if k.startswith((layout.VAL_PREFIX, layout.TEST_PREFIX)) else layout.val_metric(k)): float(v)
                for k, v in result.items()
            }
            if self.metric_key not in metrics:
                raise TrackerError(
                    f"objective function returned {sorted(result)} without the metric {self.metric!r}; "
                    "return it, or set objective.metric to one of those keys"
                )
            return TrialOutcome(metrics[self.metric_key], metrics)
        try:
            value = float(result)
        except (TypeError, ValueError) as exc:
            raise TrackerError(
                f"objective function returned {type(result).__name__}; return a float or a dict of floats"
            ) from exc
        return TrialOutcome(value, {self.metric_key: value})


_OUR_PACKAGES = ("tracker", "tuning", "cost", "reports")
# The metric names MLflow accepts (mlflow.utils.validation).
_METRIC_NAME = re.compile(r"[\w\-. :/]{1,250}")


def _takes_params(function: Callable[..., Any]) -> bool:
    """Whether ``function`` can be called as ``function(trial, params)``."""
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): let the call say
        return True
    return True


def _import_function(reference: str, folder: str | None = None) -> Callable[..., Any]:
    module_name, _, attr = reference.partition(":")
    if module_name.partition(".")[0] in _OUR_PACKAGES:
        raise ConfigError(f"objective.function: {module_name!r} is a package of tracker itself; rename your module")
    # Like `python -m`, look in the config's folder and the working directory, but only once our
    # own packages are loaded, so that a local file named like one of them (cost.py) never hides them.
    for package in _OUR_PACKAGES:
        importlib.import_module(package)
    added = [f for f in dict.fromkeys([folder or str(Path.cwd()), str(Path.cwd())]) if f not in sys.path]
    sys.path.extend(added)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"objective.function: cannot import module {module_name!r}: {exc}") from exc
    except SyntaxError as exc:
        raise ConfigError(
            f"objective.function: module {module_name!r} has a syntax error at line {exc.lineno}: {exc.msg}"
        ) from exc
    except (Exception, SystemExit) as exc:  # the user's module raised while it was imported
        raise ConfigError(
            f"objective.function: importing {module_name!r} raised {type(exc).__name__}: {str(exc)[:120]}; "
            "fix the module"
        ) from exc
    finally:
        # Only for the import: the caller's sys.path is theirs.
        for entry in added:
            sys.path.remove(entry)
    function: Callable[..., Any] | None = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"objective.function: module {module_name!r} has no function {attr!r}")
    return function


@contextlib.contextmanager
def without_working_directory() -> Iterator[None]:
    """Take the working directory off ``sys.path`` for a while: a new process started now
    imports our packages before a user's file of the same name there."""
    here = {"", ".", str(Path.cwd())}
    saved = list(sys.path)
    sys.path[:] = [entry for entry in sys.path if entry not in here]
    try:
        yield
    finally:
        sys.path[:] = saved


def build_objective(
    config: ObjectiveConfig, space: Mapping[str, ParamSpec] | None, *, seed: int, roi: RoiConfig | None = None
) -> BuiltinObjective | FunctionObjective:
    if config.function is not None:
        return FunctionObjective(config, space)
    return BuiltinObjective(config, space, seed=seed, roi=roi)
