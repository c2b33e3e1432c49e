"""The shape of MLflow's ``examples/lightgbm/lightgbm_native/train.py``: LightGBM autolog."""

import lightgbm as lgb
import matplotlib as mpl
import mlflow
import mlflow.lightgbm
from sklearn import datasets
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

mpl.use("Agg")


def main():
    iris = datasets.load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, random_state=42
    )
    mlflow.lightgbm.autolog()
    train_set = lgb.Dataset(x_train, label=y_train)
    with mlflow.start_run():
        params = {
            "objective": "multiclass",
            "num_class": 3,
            "learning_rate": 0.1,
            "metric": "multi_logloss",
            "colsample_bytree": 1.0,
            "subsample": 1.0,
            "seed": 42,
        }
        model = lgb.train(
            params, train_set, num_boost_round=10, valid_sets=[train_set], valid_names=["train"]
        )
        probabilities = model.predict(x_test)
        loss = log_loss(y_test, probabilities)
        accuracy = accuracy_score(y_test, probabilities.argmax(axis=1))
        mlflow.log_metrics({"log_loss": loss, "accuracy": accuracy})


if __name__ == "__main__":
    main()
