"""The Model Registry: the sweep's best model logged with a signature and given the alias ``champion``."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

from tracker.errors import TrackerError
from tracker.runs import CHAMPION_ALIAS, RunStore

__all__ = ["register_champion"]


def register_champion(
    store: RunStore, run_id: str, model: Any, *, model_name: str, input_example: Any, tags: Mapping[str, str]
) -> str:
    """Log the model with a signature on ``run_id``, register it, point ``champion`` at it.

    Returns the registered version.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(input_example, model.predict(input_example))
    mlflow.set_tracking_uri(store.tracking_uri)
    # Resuming the run attaches the logged model to it; the context ends it FINISHED again.
    # MLflow prints its own "Successfully registered" lines; the sweep's summary says it once.
    try:
        with mlflow.start_run(run_id=run_id), contextlib.redirect_stderr(io.StringIO()):
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
    return str(version)


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
