"""Datasets: the ones that ship inside scikit-learn, or a CSV/Parquet file, split 80/10/10."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.errors import ConfigError, first_line
from tracker.metrics import Task

__all__ = ["BUILTIN_DATASETS", "Dataset", "Split", "load_dataset", "split_dataset"]

# Each of these ships inside scikit-learn's wheel, so nothing is downloaded.
BUILTIN_DATASETS: dict[str, tuple[str, Task]] = {
    "breast_cancer": ("load_breast_cancer", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "digits": ("load_digits", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}


@dataclass(frozen=True)
class Dataset:
    """Features and target, with the names a report needs."""

    name: str
    features: pd.DataFrame
    target: np.ndarray
    task: Task
    # For classification, ``target`` holds 0..k-1 and ``classes[i]`` is the original label.
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Split:
    """Train/validation/test, 80/10/10, stratified for classification, seeded."""

    x_train: pd.DataFrame
    y_train: np.ndarray
    x_val: pd.DataFrame
    y_val: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray


def load_dataset(name: str, *, target: str | None, task: Task) -> Dataset:
    """A built-in dataset by name, or a ``.csv``/``.parquet`` file with a ``target`` column."""
    if name in BUILTIN_DATASETS:
        return _load_builtin(name, task)
    path = Path(name)
    if path.suffix.lower() not in {".csv", ".parquet", ".gz"} and not path.exists():
        raise ConfigError(
            f"objective.dataset: {name!r} is neither a built-in dataset "
            f"({', '.join(BUILTIN_DATASETS)}) nor a .csv/.parquet file"
        )
    if not path.is_file():
        raise ConfigError(f"objective.dataset: file not found: {path}")
    if target is None:
        raise ConfigError("objective.target: required when the dataset is a file; name its target column")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"objective.dataset: cannot read {path}: {first_line(exc)}") from exc
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:20]))
        raise ConfigError(f"objective.target: no column {target!r} in {path}; columns: {shown}")
    if frame.empty:
        raise ConfigError(f"objective.dataset: {path} has a header but no rows; give it data")
    y = frame.pop(target)
    features = pd.get_dummies(frame, dtype=float) if len(frame.columns) else frame
    missing = [str(c) for c in features.columns if features[c].isna().any()]
    if missing or y.isna().any():
        where = ", ".join(missing[:5]) or target
        raise ConfigError(f"objective.dataset: {path} has missing values in {where}; fill or drop them")
    if features.empty or len(features.columns) == 0:
        raise ConfigError(f"objective.dataset: {path} has no feature columns besides {target!r}")
    return _with_target(path.name, features.astype(float), y, task)


def _load_builtin(name: str, task: Task) -> Dataset:
    import sklearn.datasets

    loader_name, native_task = BUILTIN_DATASETS[name]
    if native_task != task:
        raise ConfigError(f"objective.dataset: {name!r} is a {native_task} dataset but the metric asks for {task}")
    bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
    features = bunch.data
    y = pd.Series(bunch.target)
    if task == "classification":
        names = list(getattr(bunch, "target_names", []))
        if name == "breast_cancer":
            # scikit-learn codes malignant as 0; the event worth flagging is the positive class.
            return Dataset(name, features, (y.to_numpy() == 0).astype(int), task, ("benign", "malignant"))
        return Dataset(name, features, y.to_numpy().astype(int), task, tuple(map(str, names)))
    return Dataset(name, features, y.to_numpy().astype(float), task)


def _with_target(name: str, features: pd.DataFrame, y: pd.Series, task: Task) -> Dataset:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise ConfigError("objective.target: a regression metric needs a numeric target column")
        return Dataset(name, features, y.to_numpy().astype(float), task)
    labels = sorted(y.unique(), key=lambda v: (str(type(v)), v))
    if len(labels) < 2:
        raise ConfigError("objective.target: the target column has a single value; nothing to classify")
    codes = {label: index for index, label in enumerate(labels)}
    encoded = y.map(codes).to_numpy().astype(int)
    return Dataset(name, features, encoded, task, tuple(map(str, labels)))


def split_dataset(data: Dataset, *, seed: int) -> Split:
    """80/10/10 train/validation/test; the same seed gives the same split on every worker."""
    from sklearn.model_selection import train_test_split

    stratify = data.target if data.task == "classification" else None
    try:
        x_train, x_rest, y_train, y_rest = train_test_split(
            data.features, data.target, test_size=0.2, random_state=seed, stratify=stratify
        )
        x_val, x_test, y_val, y_test = train_test_split(
            x_rest,
            y_rest,
            test_size=0.5,
            random_state=seed,
            stratify=y_rest if stratify is not None else None,
        )
    except ValueError as exc:
        raise ConfigError(f"objective.dataset: cannot split {data.name} 80/10/10: {exc}") from exc
    return Split(x_train, y_train, x_val, y_val, x_test, y_test)
