"""Every name this project writes into MLflow and Optuna, and nothing else.

Tags, metrics, parameters, artifact paths, registry aliases and tags, and Optuna
attribute names: each is spelled here once, and every other module refers to the
constant. A name used by a reader (``tracker runs``, the report, the UI links) is the
same constant the writer used, so the two cannot drift apart. ``tests/test_architecture``
fails on any of these strings spelled out elsewhere in the library.

Layout (see the design): one experiment per project, opened by the UI in its
model-training view; one parent run per sweep; one nested run per trial named
``trial-<number>``; metrics ``val_<m>``/``test_<m>``; the champion model registered with
alias ``champion`` and its predictions under ``predictions/``.
"""

from __future__ import annotations

__all__ = [
    "ARTIFACT_PREDICTIONS",
    "ARTIFACT_REALIZED",
    "ARTIFACT_REPORTS",
    "ATTR_COST",
    "ATTR_ERROR",
    "ATTR_IDENTITY",
    "ATTR_SURPLUS",
    "ATTR_SWEEPS_JOINED",
    "ATTR_WARM_START",
    "ATTR_WORKER",
    "CHAMPION_ALIAS",
    "HEADLINE_METRICS",
    "METRIC_COST_BILLED",
    "METRIC_COST_ESTIMATED",
    "METRIC_DURATION",
    "MONTHLY_PREFIX",
    "REALIZED_FILE",
    "REALIZED_VERSION_TAGS",
    "REPORT_FILE",
    "TAG_REALIZED_SET",
    "TAG_REPORT_SET",
    "VERSION_TAGS",
    "trial_run_name",
]

# -- tags of our own on runs; the cost-allocation tags are written under their own names ----------
TAG_ROLE = "tracker.role"
TAG_STUDY = "tracker.study"
TAG_TRIAL = "tracker.trial_number"
TAG_STATE = "tracker.state"
TAG_WORKER = "tracker.worker"
# A Ray worker's trial runs: the node (Ray's node id), its address and instance type, the worker's index.
TAG_NODE = "tracker.node"
TAG_NODE_IP = "tracker.node_ip"
TAG_INSTANCE_TYPE = "tracker.instance_type"
TAG_WORKER_INDEX = "tracker.worker_index"
# The trial a rerun repeats (execution.retry_failed_trials).
TAG_RETRY_OF = "tracker.retry_of"
TAG_ERROR = "tracker.error"
TAG_METRIC = "tracker.metric"
TAG_DIRECTION = "tracker.direction"
TAG_TASK = "tracker.task"
TAG_CHAMPION = "tracker.champion"
TAG_TRAIN_MEAN = "tracker.train_mean"
TAG_BEST_RUN = "tracker.best_run_id"
TAG_STOP_REASON = "tracker.stop_reason"
TAG_PARETO = "tracker.pareto_trials"
# The key of the runs-table view saved for the sweep (tracker.urls.runs_view), on its parent run.
TAG_RUNS_VIEW = "tracker.runs_view"
TAG_RECOVERED = "tracker.recovered"
# The artifact folder holding a run's current report set (``reports/<generation>``): every
# set is logged into a folder of its own, and this tag, set last, makes it the current one.
TAG_REPORT_SET = "tracker.report_set"
TAG_REALIZED_SET = "tracker.realized_set"
# Prefixes of tags that are ours or MLflow's, never the user's cost-allocation tags.
OWN_TAG_PREFIXES = ("tracker.", "mlflow.")

# -- MLflow's own tags that we set ---------------------------------------------------------------
TAG_PARENT = "mlflow.parentRunId"
TAG_NOTE = "mlflow.note.content"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_USER = "mlflow.user"
TAG_DATA_CONTEXT = "mlflow.data.context"
# Tells the MLflow 3 UI to open the experiment in its model-training (runs table) view.
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

# -- values of tracker.role --------------------------------------------------------------------
ROLE_SWEEP = "sweep"
ROLE_TRIAL = "trial"
# tracker realized's monthly steps: a child run of the sweep, replaced by each logged rerun.
ROLE_REALIZED = "realized"
REALIZED_RUN_NAME = "realized"

# -- metrics -----------------------------------------------------------------------------------
# ``val_<m>`` on the validation split (the one a sweep optimises), ``test_<m>`` on the held-out one.
VAL_PREFIX = "val_"
TEST_PREFIX = "test_"
# MLflow's evaluation of the champion on the test split (mlflow.models.evaluate), metrics and plots.
EVAL_PREFIX = "test_eval_"
METRIC_DURATION = "duration_seconds"
METRIC_COST_ESTIMATED = "cost_usd_estimated"
METRIC_COST_BILLED = "cost_usd_billed"
# On the sweep's parent run: trials_<state> counts, best_<metric>, the best trial's number, the time.
METRIC_TRIALS_PREFIX = "trials_"
METRIC_BEST_PREFIX = "best_"
METRIC_BEST_TRIAL = "best_trial"
METRIC_ELAPSED = "elapsed_seconds"
# The report's headline figures, logged on the sweep's parent run so the UI compares sweeps by them.
# npv is the forward NPV the verdict rests on; npv_all_costs and roi answer "was it worth it?".
HEADLINE_METRICS = (
    "npv",
    "npv_all_costs",
    "roi",
    "net_benefit",
    "monthly_benefit",
    "development_cost",
    "payback_months",
    "probability_npv_positive",
)
# tracker realized logs ``monthly_<figure>`` steps, step = the month's index in production.
MONTHLY_PREFIX = "monthly_"
MONTHLY_FIGURES = (
    "net",
    "planned_net",
    "value",
    "realized_value",
    "estimated_value",
    "planned_value",
    "running_cost",
    "psi",
    "predictions",
    "share_labelled",
)

# -- parameters --------------------------------------------------------------------------------
# The sweep's parameters are its config keys; this one is read back by the cost estimate.
PARAM_HOURLY_USD = "hourly_usd"

# -- artifacts ----------------------------------------------------------------------------------
ARTIFACT_PREDICTIONS = "predictions"
ARTIFACT_REPORTS = "reports"
ARTIFACT_REALIZED = "realized"
REPORT_FILE = "roi.json"
REALIZED_FILE = "realized.json"

# -- the Model Registry -------------------------------------------------------------------------
CHAMPION_ALIAS = "champion"
# Tags of the champion's registered version: which study and trial it came from.
MODEL_TAG_STUDY = "study"
MODEL_TAG_TRIAL = "trial"
# Tags a report writes on the champion's registered version: what it is worth.
VERSION_TAG_NPV = "npv"
VERSION_TAG_NET_BENEFIT = "net_benefit"
VERSION_TAG_CURRENCY = "currency"
VERSION_TAG_ROI = "roi_percent"
VERSION_TAG_REPORT_RUN = "report_run_id"
VERSION_TAGS = (VERSION_TAG_NPV, VERSION_TAG_NET_BENEFIT, VERSION_TAG_CURRENCY, VERSION_TAG_ROI, VERSION_TAG_REPORT_RUN)
# ...and tracker realized, what it earned.
VERSION_TAG_REALIZED_ROI = "realized_roi_to_date"
VERSION_TAG_DRIFT = "drift_status"
REALIZED_VERSION_TAGS = (VERSION_TAG_REALIZED_ROI, VERSION_TAG_DRIFT)

# -- Optuna attributes --------------------------------------------------------------------------
# On a trial: which process ran it, what it cost, why it failed, whether it was past the budget.
ATTR_WORKER = "worker"
ATTR_COST = "cost_usd_estimated"
ATTR_ERROR = "error"
ATTR_SURPLUS = "surplus"
ATTR_WARM_START = "warm_start_from"
# On a study: how many sweeps have joined it (each takes its own seed).
ATTR_SWEEPS_JOINED = "tracker.sweeps_joined"
# What a study optimises (tuning.identity), so a sweep with another objective never joins it.
ATTR_IDENTITY = "tracker.objective_identity"


def trial_run_name(number: int) -> str:
    """The MLflow run name of trial ``number``."""
    return f"trial-{number}"


def val_metric(name: str) -> str:
    """``f1`` -> ``val_f1``: the metric on the validation split."""
    return VAL_PREFIX + name


def test_twin(metric_key: str) -> str:
    """``val_f1`` -> ``test_f1``: the held-out twin of a validation metric."""
    return TEST_PREFIX + metric_key.removeprefix(VAL_PREFIX)
