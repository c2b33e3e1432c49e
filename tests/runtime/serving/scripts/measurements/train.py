"""A script whose endpoint speaks its own content type: measurements as whitespace-separated
text in, species names out, through custom input_fn, predict_fn and output_fn."""

import argparse
import json
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from species import SPECIES  # a module of the same source_dir

MEASUREMENTS = "application/x-measurements"


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.pkl"))


def input_fn(request_body, request_content_type):
    """One flower per line, four numbers separated by spaces."""
    if request_content_type != MEASUREMENTS:
        raise ValueError(f"this model reads {MEASUREMENTS}, not {request_content_type}")
    text = request_body.decode("ascii")
    return np.array([line.split() for line in text.strip().splitlines()], dtype=float)


def predict_fn(input_data, model):
    return model.predict_proba(input_data)


def output_fn(prediction, accept, context):
    context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "classes=3")
    names = [SPECIES[i] for i in prediction.argmax(axis=1)]
    if accept == "application/x-species":
        return "\n".join(names) + "\n", accept
    return json.dumps({"species": names, "confidence": prediction.max(axis=1).round(4).tolist()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args = parser.parse_args()
    files = sorted(os.listdir(args.train))
    data = pd.concat(pd.read_csv(os.path.join(args.train, f), header=None) for f in files)
    model = LogisticRegression(max_iter=500).fit(data.iloc[:, 1:], data.iloc[:, 0].astype(int))
    joblib.dump(model, os.path.join(args.model_dir, "model.pkl"))
