"""A scikit-learn script that takes every path from sagemaker_training's environment."""

import os

import joblib
import pandas as pd
from sagemaker_training import environment
from sklearn.linear_model import LinearRegression

env = environment.Environment()
train = env.channel_input_dirs["train"]
data = pd.concat(pd.read_csv(os.path.join(train, f)) for f in sorted(os.listdir(train)))
target = data.pop("target")
model = LinearRegression(fit_intercept=env.hyperparameters.get("fit_intercept", True))
joblib.dump(model.fit(data, target), os.path.join(env.model_dir, "model.joblib"))
print(f"saved to {env.model_dir}", flush=True)
