"""Reading the YAML file, applying the environment and overrides, and the storage defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from tracker.config._common import (
    DEFAULT_STORAGE,
    LEGACY_STORAGE,
    _shown,
)
from tracker.config._settings import Settings
from tracker.errors import ConfigError, clip


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
    return f"{source}: {clip(field, 80)}: {clip(message, 200)}{suffix}"


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


# A configuration is a page or two of YAML; a larger file is a mistake (a dataset passed as
# --config), refused before the parser spends minutes on it.
MAX_CONFIG_BYTES = 1_000_000


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a missing, unreadable, oversized or malformed file is a ConfigError."""
    import yaml

    try:
        if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
            size = path.stat().st_size
            raise ConfigError(
                f"{path}: {size:,} bytes is not a config file (the limit is {MAX_CONFIG_BYTES:,}); "
                "pass the YAML config with --config, and data files by their own keys"
            )
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
        raise ConfigError(f"{path}: a value cannot be read ({clip(str(exc), 120)}); quote it or correct it") from exc
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


# A dataset value is a file's path (rather than a built-in dataset's name) when it ends so, or has a folder.
_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".tsv", ".txt")


def _paths_from(data: dict[str, Any], base: Path) -> None:
    """Relative paths written in a config file mean "beside the config file", as in docker-compose
    and mkdocs: made absolute here, so the file works from any working directory. Paths given as
    flags or in the environment stay relative to the working directory."""

    def beside(value: Any) -> Any:
        if not isinstance(value, str) or not value or "://" in value or Path(value).expanduser().is_absolute():
            return value
        return str(base / value)

    objective, cost = data.get("objective"), data.get("cost")
    if isinstance(objective, dict):
        if objective.get("function"):
            objective["function_path"] = beside(objective.get("function_path") or ".")
        dataset = objective.get("dataset")
        if isinstance(dataset, str) and ("/" in dataset or dataset.endswith(_TABLE_SUFFIXES)):
            objective["dataset"] = beside(dataset)
    if isinstance(cost, dict):
        for key in ("file", "cache_dir"):
            if key in cost:
                cost[key] = beside(cost[key])
    for key in ("storage", "tracking_uri"):
        value = data.get(key)
        if isinstance(value, str) and value.startswith("sqlite:///"):
            data[key] = absolute_sqlite(value, base)
        elif key == "storage" and value is not None:
            data[key] = beside(value)


def _name_of(config_file: Path) -> str:
    """``configs/churn-model.yaml`` -> ``churn-model``; a name MLflow takes."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", config_file.stem).strip("-.")
    return name[:250] or "tracker"


def load_settings(
    config_file: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from a file, the environment and overrides by config key (``{"limits.max_trials": 5}``).

    Overrides whose value is ``None`` are flags the user did not give and are ignored.
    ``environ`` stands in for ``os.environ`` (``MLFLOW_TRACKING_URI`` and ``MLFLOW_EXPERIMENT_NAME``
    are honoured, as MLflow itself honours them: over the file, under a flag).
    """
    env = os.environ if environ is None else environ
    config_file = Path(config_file) if config_file is not None else None
    data = read_config_file(config_file) if config_file is not None else {}
    if config_file is not None:
        _paths_from(data, config_file.absolute().parent)
        # A config names its own experiment (and study) by default: two configs in one folder
        # never share a default name, as they would share "tracker-demo".
        data.setdefault("experiment", _name_of(config_file))
    if env.get("MLFLOW_TRACKING_URI"):
        data["tracking_uri"] = env["MLFLOW_TRACKING_URI"]
    if env.get("MLFLOW_EXPERIMENT_NAME"):
        data["experiment"] = env["MLFLOW_EXPERIMENT_NAME"]
    if env.get("TRACKER_PLOTS") in ("0", "1"):
        data["plots"] = env["TRACKER_PLOTS"] == "1"
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
