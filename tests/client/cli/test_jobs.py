"""How ``dockyard jobs`` and ``dockyard transform`` list jobs for people."""

from __future__ import annotations

from dockyard.client.cli.jobs import _job_rows


def test_a_transform_job_lists_the_model_it_scores_with() -> None:
    rows = _job_rows(
        [
            {
                "name": "score",
                "kind": "transform",
                "status": "Completed",
                "secondary_status": "Completed",
                "created_time": 1_700_000_000_000,
                "model_uri": None,
                "spec": {"model_uri": "models:/wine/3"},
            },
            {
                "name": "train",
                "kind": "training",
                "status": "Completed",
                "secondary_status": "Completed",
                "created_time": 1_700_000_000_000,
                "model_uri": "runs:/abc/model",
                "spec": {},
            },
        ]
    )
    score, train = rows.splitlines()[1:3]
    assert score.split()[-1] == "models:/wine/3"
    assert train.split()[-1] == "runs:/abc/model"
