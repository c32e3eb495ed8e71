"""Datasets: the ones that ship inside scikit-learn, or a CSV/Parquet file, split 80/10/10."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.config import ObjectiveConfig, ReadOptions
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
    # Text columns, one-hot encoded inside the model's pipeline.
    categorical: tuple[str, ...] = ()
    # Where the data came from (a file's absolute path, or the scikit-learn loader), and the target's name.
    source: str = ""
    target_name: str = "target"


@dataclass(frozen=True)
class Split:
    """Train/validation/test, 80/10/10, stratified for classification, seeded."""

    x_train: pd.DataFrame
    y_train: np.ndarray
    x_val: pd.DataFrame
    y_val: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray


def load_dataset(config: ObjectiveConfig, *, task: Task) -> Dataset:
    """A built-in dataset by name, or a ``.csv``/``.csv.gz``/``.parquet`` file with a ``target`` column.

    Text columns of a file stay as they are; the model's pipeline encodes them (see
    :func:`tuning.trainers.with_encoding`), so the registered champion takes the raw columns.
    """
    name, target = config.dataset, config.target
    if name in BUILTIN_DATASETS:
        return _load_builtin(name, task)
    path = Path(name)
    if not _is_table(path) and not path.exists():
        raise ConfigError(
            f"objective.dataset: {name!r} is neither a built-in dataset "
            f"({', '.join(BUILTIN_DATASETS)}) nor a .csv/.csv.gz/.parquet file"
        )
    if not path.is_file():
        raise ConfigError(f"objective.dataset: file not found: {path}")
    if target is None:
        raise ConfigError("objective.target: required when the dataset is a file; name its target column")
    frame = read_table(path, config.read)
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:20]))
        raise ConfigError(f"objective.target: no column {target!r} in {path}; columns: {shown}")
    if frame.empty:
        raise ConfigError(f"objective.dataset: {path} has a header but no rows; give it data")
    unknown = [c for c in config.drop_columns if c not in frame.columns]
    if unknown:
        raise ConfigError(f"objective.drop_columns: no column {unknown[0]!r} in {path}")
    if target in config.drop_columns:
        raise ConfigError(f"objective.drop_columns: {target!r} is the target; it cannot be dropped")
    y = frame.pop(target)
    features = frame.drop(columns=config.drop_columns)
    missing = [str(c) for c in features.columns if features[c].isna().any()]
    if missing or y.isna().any():
        where = ", ".join(missing[:5]) or target
        raise ConfigError(f"objective.dataset: {path} has missing values in {where}; fill or drop them")
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    infinite = [str(c) for c in numeric if np.isinf(features[c]).any()]
    if infinite or (pd.api.types.is_numeric_dtype(y) and np.isinf(y).any()):
        where = ", ".join(infinite[:5]) or target
        raise ConfigError(f"objective.dataset: {path} has infinite values (inf) in {where}; replace or drop them")
    if len(features.columns) == 0:
        raise ConfigError(f"objective.dataset: {path} has no feature columns besides {target!r}")
    # Numbers keep the file's own types, so the champion's signature takes the file's rows as they are.
    categorical = tuple(str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c]))
    if categorical:
        features = features.astype({c: str for c in categorical})
    dataset = _with_target(path.name, features, y, task, config.positive_label, categorical)
    return replace(dataset, source=str(path.resolve()), target_name=target)


def _is_table(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    return bool(suffixes) and (suffixes[-1] in {".csv", ".parquet"} or suffixes == [".csv", ".gz"])


def read_table(path: Path, options: ReadOptions) -> pd.DataFrame:
    """A dataset file as the sweep reads it (the report counts its rows the same way)."""
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        sep = options.sep or _sniff_separator(path, options.encoding)
        return pd.read_csv(path, sep=sep, decimal=options.decimal, encoding=options.encoding)
    except (ValueError, OSError, UnicodeDecodeError, LookupError) as exc:
        raise ConfigError(f"objective.dataset: cannot read {path}: {first_line(exc)}") from exc


def _sniff_separator(path: Path, encoding: str) -> str:
    """The field separator of a CSV (compressed or not), from its first lines; ',' when unclear."""
    import csv
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding, newline="") as stream:
        sample = stream.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _load_builtin(name: str, task: Task) -> Dataset:
    import sklearn.datasets

    loader_name, native_task = BUILTIN_DATASETS[name]
    if native_task != task:
        raise ConfigError(f"objective.dataset: {name!r} is a {native_task} dataset but the metric asks for {task}")
    bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
    source = f"sklearn.datasets.{loader_name}"
    features = bunch.data
    y = pd.Series(bunch.target)
    if task == "classification":
        names = list(getattr(bunch, "target_names", []))
        if name == "breast_cancer":
            # scikit-learn codes malignant as 0; the event worth flagging is the positive class.
            malignant = (y.to_numpy() == 0).astype(int)
            return Dataset(name, features, malignant, task, ("benign", "malignant"), source=source)
        return Dataset(name, features, y.to_numpy().astype(int), task, tuple(map(str, names)), source=source)
    return Dataset(name, features, y.to_numpy().astype(float), task, source=source)


def _with_target(
    name: str,
    features: pd.DataFrame,
    y: pd.Series,
    task: Task,
    positive_label: str | int | bool | None = None,
    categorical: tuple[str, ...] = (),
) -> Dataset:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise ConfigError("objective.target: a regression metric needs a numeric target column")
        return Dataset(name, features, y.to_numpy().astype(float), task, categorical=categorical)
    labels = sorted(y.unique(), key=lambda v: (str(type(v)), v))
    if len(labels) < 2:
        raise ConfigError("objective.target: the target column has a single value; nothing to classify")
    if positive_label is not None:
        wanted = str(positive_label).lower() if isinstance(positive_label, bool) else str(positive_label)
        positive = [label for label in labels if str(label) == wanted or str(label).lower() == wanted]
        if not positive:
            shown = ", ".join(map(str, labels[:10]))
            raise ConfigError(f"objective.positive_label: {positive_label!r} is not a value of the target ({shown})")
        encoded = (y == positive[0]).to_numpy().astype(int)
        return Dataset(name, features, encoded, task, (f"not {positive[0]}", str(positive[0])), categorical)
    codes = {label: index for index, label in enumerate(labels)}
    encoded = y.map(codes).to_numpy().astype(int)
    return Dataset(name, features, encoded, task, tuple(map(str, labels)), categorical)


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
