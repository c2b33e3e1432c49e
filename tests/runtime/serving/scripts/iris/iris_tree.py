"""A SageMaker script-mode training script for the iris flowers, as SageMaker's examples write
them: the label in the first column of headerless CSV files, a decision tree, and ``model_fn``
for the serving container (whose default handlers do the rest)."""

import argparse
import os

import joblib
import pandas as pd
from sklearn.tree import DecisionTreeClassifier


def model_fn(model_dir):
    """Load the tree the training run saved."""
    return joblib.load(os.path.join(model_dir, "tree.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args = parser.parse_args()

    files = sorted(os.listdir(args.train))
    data = pd.concat(pd.read_csv(os.path.join(args.train, f), header=None) for f in files)
    labels, features = data.iloc[:, 0], data.iloc[:, 1:]
    tree = DecisionTreeClassifier(max_depth=args.max_depth, random_state=0)
    tree.fit(features, labels)
    print(f"training accuracy: {tree.score(features, labels):.3f}")
    joblib.dump(tree, os.path.join(args.model_dir, "tree.joblib"))
