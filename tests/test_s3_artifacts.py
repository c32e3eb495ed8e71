"""The record at scale: an MLflow tracking server that keeps its artifacts in S3.

``mlflow server --artifacts-destination s3://...`` proxies every artifact, so workers need
no S3 credentials of their own. Here S3 is moto's server on 127.0.0.1: a sweep and a report
go through the tracking server, and the champion model, its predictions and the report are
found as S3 objects and read back through MLflow, byte for byte.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from mlflow.tracking import MlflowClient
from pypdf import PdfReader

from tests.scale_fixtures import create_database, drop_database, moto_server, require_postgres, running_mlflow_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BUCKET = "team-mlflow"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "classification.yaml"


def _tracker(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tracker", *args], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_models_predictions_and_reports_go_through_the_server_to_s3_and_back(tmp_path: Path) -> None:
    require_postgres()
    database = create_database()
    try:
        with moto_server() as endpoint:
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            # Only the server talks to S3: the sweep's environment has no endpoint for it.
            server_env = {"MLFLOW_S3_ENDPOINT_URL": endpoint}
            with running_mlflow_server(tmp_path, database, f"s3://{BUCKET}/mlflow", server_env) as tracking:
                env_before = dict(os.environ)
                config = ("--config", str(EXAMPLE), "--tracking-uri", tracking)
                _tracker(tmp_path, "sweep", *config, "--trials", "3", "--quiet")
                out = _tracker(tmp_path, "report", *config)
                assert os.environ == env_before
                client = MlflowClient(tracking)
                experiment = client.get_experiment_by_name("tumour-screening")
                [parent] = client.search_runs([experiment.experiment_id], filter_string="tags.`tracker.role` = 'sweep'")
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="mlflow/")["Contents"]]
                # The champion's model, its predictions and the report set, as S3 objects.
                assert any(k.endswith("/MLmodel") for k in keys), keys
                assert any("predictions/" in k for k in keys), keys
                # The report set is logged on the sweep's parent run.
                prefix = f"mlflow/{experiment.experiment_id}/{parent.info.run_id}/artifacts/reports/"
                [pdf_key] = [k for k in keys if k.startswith(prefix) and k.endswith("/report.pdf")]
                in_s3 = s3.get_object(Bucket=BUCKET, Key=pdf_key)["Body"].read()
                # Read back through the tracking server: the same bytes, a real PDF.
                artifact_path = pdf_key.split("/artifacts/", 1)[1]
                local = client.download_artifacts(parent.info.run_id, artifact_path, str(tmp_path / "back"))
                assert Path(local).read_bytes() == in_s3
                text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(in_s3)).pages)
                assert "NPV" in text
                assert (tmp_path / "report.pdf").read_bytes() == in_s3
                # The champion loads back from S3 through the registry and predicts.
                import mlflow

                mlflow.set_tracking_uri(tracking)
                try:
                    model = mlflow.pyfunc.load_model("models:/tumour-screening@champion")
                    from sklearn.datasets import load_breast_cancer

                    features = load_breast_cancer(as_frame=True).frame.drop(columns="target").head(5)
                    assert len(model.predict(features)) == 5
                finally:
                    mlflow.set_tracking_uri(None)
                assert "Wrote" in out
    finally:
        drop_database(database)
