"""A script-mode script that trains XGBoost or scikit-learn and saves the model the way its
--format says, as scripts written for SageMaker's containers do."""

import argparse
import json
import os
import pickle

import joblib
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LinearRegression

parser = argparse.ArgumentParser()
parser.add_argument("--format", default="pickled-booster")
parser.add_argument("--num_round", type=int, default=5)
parser.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR"))
parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
args, _ = parser.parse_known_args()

frames = [pd.read_csv(os.path.join(args.train, f)) for f in sorted(os.listdir(args.train))]
data = pd.concat(frames)
target = data.pop("target")
booster = xgb.train(
    {"objective": "reg:squarederror", "max_depth": 3}, xgb.DMatrix(data, label=target), 5
)
model_dir = args.model_dir

if args.format == "pickled-booster":  # the XGBoost container's script-mode habit
    pickle.dump(booster, open(model_dir + "/xgboost-model", "wb"))
elif args.format == "pickled-regressor":
    regressor = xgb.XGBRegressor(n_estimators=5, max_depth=3).fit(data, target)
    pickle.dump(regressor, open(model_dir + "/xgboost-model", "wb"))
elif args.format == "native-ubj":
    booster.save_model(model_dir + "/xgboost-model")
elif args.format == "native-json":
    booster.save_model(model_dir + "/model.json")
elif args.format == "joblib":  # the scikit-learn container's habit
    joblib.dump(LinearRegression().fit(data, target), os.path.join(model_dir, "model.joblib"))
elif args.format == "unknown":
    with open(os.path.join(model_dir, "weights.bin"), "wb") as handle:
        handle.write(b"\x00\x01 custom weights")
elif args.format == "broken":
    with open(model_dir + "/xgboost-model", "wb") as handle:
        handle.write(b"this is not a model")
elif args.format == "not-a-model":
    joblib.dump({"weights": [1, 2, 3]}, os.path.join(model_dir, "model.joblib"))
with open(os.path.join(model_dir, "notes.json"), "w") as handle:
    json.dump({"format": args.format}, handle)
print(f"saved {args.format}", flush=True)
