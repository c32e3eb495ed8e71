"""The Model Registry: the sweep's best model logged with a signature and given the alias ``champion``."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.errors import TrackerError
from tracker.record.layout import CHAMPION_ALIAS, EVAL_PREFIX
from tracker.record.writes import SweepRecord

__all__ = ["Champion", "evaluate_champion", "register_champion"]


@dataclass(frozen=True)
class Champion:
    """The registered version of the sweep's best model, and where its logged model lives."""

    version: str
    model_uri: str


def register_champion(
    store: SweepRecord, run_id: str, model: Any, *, model_name: str, input_example: Any, tags: Mapping[str, str]
) -> Champion:
    """Log the model with a signature on ``run_id``, register it, point ``champion`` at it."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with _no_integer_schema_hint():
        signature = infer_signature(input_example, model.predict(input_example))
    # Resuming the run attaches the logged model to it; the context ends it FINISHED again.
    # MLflow prints its own "Successfully registered" lines; the sweep's summary says it once.
    try:
        with (
            _using_tracking_uri(store.tracking_uri),
            mlflow.start_run(run_id=run_id),
            contextlib.redirect_stderr(io.StringIO()),
            _no_integer_schema_hint(),
        ):
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                input_example=input_example,
                registered_model_name=model_name,
                tags=dict(tags),
                skops_trusted_types=_own_types(model),
                # Named, so MLflow does not load the model in a subprocess to infer them.
                pip_requirements=_requirements(),
            )
    except Exception as exc:
        # The trial itself completed: its run stays FINISHED, whatever the registry said.
        store.client.set_terminated(run_id, status="FINISHED")
        message = getattr(exc, "message", None) or str(exc)
        raise TrackerError(f"registering the champion {model_name!r} failed: {message[:200]}") from exc
    version = info.registered_model_version
    if version is None:
        raise TrackerError(f"MLflow did not register the champion model {model_name!r}")
    store.client.set_registered_model_alias(model_name, CHAMPION_ALIAS, str(version))
    store.mark_champion(run_id)
    return Champion(str(version), info.model_uri)


def evaluate_champion(
    store: SweepRecord, run_id: str, model_uri: str, features: Any, y_true: Any, *, task: str
) -> tuple[str, ...]:
    """MLflow's default evaluator on the champion's test split, logged on its run.

    The run gets MLflow's standard metrics and plots (ROC and precision-recall curves,
    confusion matrix, lift and calibration for a classifier; residuals for a regressor).
    Returns the names of the artifacts it logged.
    """
    import mlflow

    data = features.assign(y_true=y_true)
    try:
        with (
            _using_tracking_uri(store.tracking_uri),
            mlflow.start_run(run_id=run_id),
            _only_errors_from("mlflow"),
            _no_integer_schema_hint(),
        ):
            evaluate: Any = mlflow.models.evaluate  # untyped in MLflow
            result = evaluate(
                model_uri,
                data,
                targets="y_true",
                model_type="classifier" if task == "classification" else "regressor",
                evaluators=["default"],
                # SHAP is not installed, and its step fails on pandas' string columns
                # before it would say so: leave explanations out, as the docs say.
                # Prefixed, so the UI never takes them for trial metrics: they exist on one run only.
                evaluator_config={"default": {"log_model_explainability": False, "metric_prefix": EVAL_PREFIX}},
            )
    except Exception as exc:
        store.client.set_terminated(run_id, status="FINISHED")
        message = getattr(exc, "message", None) or str(exc)
        raise TrackerError(f"MLflow's evaluation of the champion failed: {message[:200]}") from exc
    return tuple(sorted(result.artifacts))


@contextlib.contextmanager
def _using_tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's fluent API pointed at ``uri`` while inside, and put back as it was afterwards.

    ``mlflow.set_tracking_uri`` also sets the MLFLOW_TRACKING_URI environment variable; a
    library must not leave that changed in its caller's process (or in every later
    subprocess of it).
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils

    before_env = os.environ.get("MLFLOW_TRACKING_URI")
    before = getattr(utils, "_tracking_uri", None)  # what the caller set explicitly, if anything
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        # None unsets both the setting and the variable (MLflow handles it; its annotation does not say so).
        mlflow.set_tracking_uri(before)  # type: ignore[arg-type]
        if before_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before_env


@contextlib.contextmanager
def _no_integer_schema_hint() -> Iterator[None]:
    """MLflow hints, whenever it infers a schema with an integer column (a class label, a count),
    that such a column cannot hold missing values later. The champion is logged and evaluated
    on data already read whole, so the hint (a screen of text) says nothing a user can act on.
    Caught here, around the calls that raise it: the caller's warnings filters stay theirs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
        yield


@contextlib.contextmanager
def _only_errors_from(name: str) -> Iterator[None]:
    """Warnings of ``name``'s loggers held back while inside (the evaluator warns about optional
    extras such as SHAP); the handlers are left as they were afterwards."""
    quiet = logging.Filter()
    quiet.filter = lambda record: record.levelno >= logging.ERROR  # type: ignore[method-assign]
    handlers = [h for logger in (logging.getLogger(name), logging.getLogger()) for h in logger.handlers]
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")]


def _own_types(model: Any) -> list[str] | None:
    """The types skops will not load by default, for a model this process trained itself.

    MLflow saves scikit-learn models with skops, which refuses types that a crafted file
    could abuse (tree node arrays). The model was just built here from our own code, so
    exactly the types it reports are trusted; a model from elsewhere never passes here.
    """
    try:
        import skops.io
    except ImportError:
        return None
    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model))) or None
