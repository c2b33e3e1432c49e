"""The shape of MLflow's ``examples/xgboost/xgboost_native/train.py``: native XGBoost autolog."""

import matplotlib as mpl
import mlflow
import mlflow.xgboost
import xgboost as xgb
from sklearn import datasets
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

mpl.use("Agg")


def main():
    iris = datasets.load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, random_state=42
    )
    mlflow.xgboost.autolog()
    dtrain = xgb.DMatrix(x_train, label=y_train)
    dtest = xgb.DMatrix(x_test, label=y_test)
    with mlflow.start_run():
        params = {
            "objective": "multi:softprob",
            "num_class": 3,
            "learning_rate": 0.3,
            "eval_metric": "mlogloss",
            "colsample_bytree": 1.0,
            "subsample": 1.0,
            "seed": 42,
        }
        model = xgb.train(params, dtrain, evals=[(dtrain, "train")])
        probabilities = model.predict(dtest)
        loss = log_loss(y_test, probabilities)
        accuracy = accuracy_score(y_test, probabilities.argmax(axis=1))
        mlflow.log_metrics({"log_loss": loss, "accuracy": accuracy})


if __name__ == "__main__":
    main()
