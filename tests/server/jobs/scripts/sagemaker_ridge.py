"""An ordinary SageMaker script-mode training script (no Dockyard imports)."""

import argparse
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--output-data-dir", type=str, default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    args, _ = parser.parse_known_args()

    frames = [
        pd.read_csv(os.path.join(args.train, name)) for name in sorted(os.listdir(args.train))
    ]
    data = pd.concat(frames)
    target = data.pop("target")
    print(f"hosts={os.environ['SM_HOSTS']} cpus={os.environ['SM_NUM_CPUS']}", flush=True)
    for epoch in range(args.epochs):
        model = Ridge(alpha=args.alpha * (epoch + 1)).fit(data, target)
        rmse = float(np.sqrt(np.mean((model.predict(data) - target) ** 2)))
        print(f"epoch={epoch}; train_rmse={rmse:.6f};", flush=True)
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    data.head(5).to_csv(os.path.join(args.model_dir, "input_example.csv"), index=False)
    with open(os.path.join(args.output_data_dir, "summary.txt"), "w") as handle:
        handle.write(f"rmse={rmse}\n")
