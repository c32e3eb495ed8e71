"""How examples/production/term-deposit-2027.csv.gz was made: the worked example's champion
scoring clients it never saw, six months of them, with a drift from the third month.

    python -m tracker sweep --config examples/marketing.yaml
    python examples/production/make_log.py      # UCI's full file, examples/data/bank-full.csv.gz

Clients: the rows of UCI's bank-full.csv (CC BY 4.0; see examples/data/README.md) that are
not in bank.csv, the model's training file, so none of them was seen in training. Each
month (January to June 2027, UTC) draws about 2,000 of them.

The drift, from March: 60% of each month's clients come from the segment whose contact
channel is "unknown" (a cold list: about 4% of them subscribe, against about 14% of the
others), the rest as before. Scores shift down, the share who subscribe falls, and each
month is worth less than planned.

Labels arrive late, at random: January to April are 97% labelled, May 70%, June 30%; an
unknown outcome is an empty y_true. Each row carries the client's features too (all but
y and duration), so that tracker realized can say which inputs moved.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
MONTHS = ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
VOLUME = [1950, 2040, 2110, 1990, 2180, 2060]
LABELLED = [0.97, 0.97, 0.97, 0.97, 0.70, 0.30]
DRIFT_FROM = 2  # index of March
COLD_SHARE = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=HERE.parent / "data" / "bank-full.csv.gz", help="UCI's bank-full.csv(.gz)"
    )
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--out", type=Path, default=HERE / "term-deposit-2027.csv.gz")
    args = parser.parse_args()

    import mlflow

    full = pd.read_csv(args.data, sep=";")
    seen = pd.read_csv(HERE.parent / "data" / "bank.csv.gz", sep=";")
    held_out = full.merge(seen.drop_duplicates(), how="left", indicator=True)
    held_out = held_out[held_out["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    mlflow.set_tracking_uri(args.tracking_uri)
    model = mlflow.sklearn.load_model("models:/term-deposit-calls@champion")
    version = mlflow.MlflowClient().get_model_version_by_alias("term-deposit-calls", "champion").version

    rng = np.random.default_rng(2027)
    cold = held_out.index[held_out["contact"] == "unknown"].to_numpy()
    warm = held_out.index[held_out["contact"] != "unknown"].to_numpy()
    frames = []
    for i, (month, volume) in enumerate(zip(MONTHS, VOLUME, strict=True)):
        if i < DRIFT_FROM:
            rows = rng.choice(held_out.index.to_numpy(), size=volume, replace=False)
        else:
            n_cold = round(volume * COLD_SHARE)
            picked = [
                rng.choice(cold, size=n_cold, replace=False),
                rng.choice(warm, size=volume - n_cold, replace=False),
            ]
            rows = np.concatenate(picked)
        clients = held_out.loc[rows]
        scores = model.predict_proba(clients.drop(columns=["y", "duration"]))[:, 1]
        start = pd.Timestamp(f"{month}-01", tz="UTC")
        seconds = (start + pd.offsets.MonthBegin(1) - start).total_seconds()
        stamps = start + pd.to_timedelta(np.sort(rng.uniform(0, seconds, size=volume)), unit="s")
        truth = (clients["y"] == "yes").astype(int).astype(str).to_numpy()
        truth[rng.random(volume) >= LABELLED[i]] = ""
        frames.append(
            pd.concat(
                [
                    pd.DataFrame(
                        {
                            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            # One id a prediction; a client may be scored again in a later month.
                            "id": [f"{month}-{n:05d}" for n in range(1, volume + 1)],
                            "client_id": [f"c{r:05d}" for r in rows],
                            "model_version": version,
                            "y_score": np.round(scores, 6),
                            "y_true": truth,
                        }
                    ),
                    clients.drop(columns=["y", "duration"]).reset_index(drop=True),
                ],
                axis=1,
            )
        )
    log = pd.concat(frames, ignore_index=True)
    with gzip.open(args.out, "wt", newline="") as stream:
        log.to_csv(stream, index=False)
    print(f"wrote {len(log)} predictions to {args.out}")


if __name__ == "__main__":
    main()
