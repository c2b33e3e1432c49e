"""The shape of MLflow's ``examples/sklearn_autolog/grid_search_cv.py``: a parent run with one
child run per parameter combination, then the children read back with ``search_runs``."""

from pprint import pprint

import mlflow
import pandas as pd
from mlflow import MlflowClient
from sklearn import datasets, svm
from sklearn.model_selection import GridSearchCV


def logged_data(run_id):
    client = MlflowClient()
    data = client.get_run(run_id).data
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    artifacts = [f.path for f in client.list_artifacts(run_id, "model")]
    return {"params": data.params, "metrics": data.metrics, "tags": tags, "artifacts": artifacts}


def main():
    mlflow.sklearn.autolog()
    iris = datasets.load_iris()
    parameters = {"kernel": ("linear", "rbf"), "C": [1, 10]}
    search = GridSearchCV(svm.SVC(), parameters)
    with mlflow.start_run() as run:
        search.fit(iris.data, iris.target)

    print("========== parent run ==========")
    for key, data in logged_data(run.info.run_id).items():
        print(f"\n---------- logged {key} ----------")
        pprint(data)

    children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    columns = [f"params.{p}" for p in parameters] + ["metrics.mean_test_score"]
    print("\n========== child runs ==========\n")
    pd.set_option("display.max_columns", None)
    print(children[["run_id", *columns]])


if __name__ == "__main__":
    main()
