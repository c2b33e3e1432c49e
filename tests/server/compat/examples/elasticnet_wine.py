"""The shape of MLflow's ``examples/sklearn_elasticnet_wine/train.py``, on bundled data.

Usage: ``python elasticnet_wine.py <registered model name> [alpha] [l1_ratio]``.
"""

import sys

import mlflow
import mlflow.sklearn
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split


def scores(actual, predicted):
    return (
        np.sqrt(mean_squared_error(actual, predicted)),
        mean_absolute_error(actual, predicted),
        r2_score(actual, predicted),
    )


if __name__ == "__main__":
    np.random.seed(40)
    data = load_diabetes(as_frame=True).frame
    train, test = train_test_split(data, random_state=40)
    train_x, test_x = train.drop(["target"], axis=1), test.drop(["target"], axis=1)
    train_y, test_y = train[["target"]], test[["target"]]
    name = sys.argv[1]
    alpha = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    l1_ratio = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5

    with mlflow.start_run():
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        model.fit(train_x, train_y)
        rmse, mae, r2 = scores(test_y, model.predict(test_x))
        print(f"Elasticnet model (alpha={alpha:f}, l1_ratio={l1_ratio:f}): RMSE {rmse} R2 {r2}")
        mlflow.log_param("alpha", alpha)
        mlflow.log_param("l1_ratio", l1_ratio)
        mlflow.log_metric("rmse", rmse)
        mlflow.log_metric("r2", r2)
        mlflow.log_metric("mae", mae)
        mlflow.sklearn.log_model(model, "model", registered_model_name=name)
