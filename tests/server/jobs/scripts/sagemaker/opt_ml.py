"""A SageMaker training script that hard-codes /opt/ml and reads its environment through
sagemaker_training, as scripts written for SageMaker's containers do (no Dockyard imports)."""

import json
import os
import sys

import joblib
import pandas as pd
from sagemaker_training import environment
from sklearn.linear_model import LinearRegression

with open("/opt/ml/input/config/hyperparameters.json") as handle:
    hyperparameters = json.load(handle)
if hyperparameters.get("mode") == "fail":
    with open("/opt/ml/output/failure", "w") as handle:
        handle.write("the label column is missing (written to /opt/ml/output/failure)")
    sys.exit(2)

env = environment.Environment()
train = "/opt/ml/input/data/train"
data = pd.concat(pd.read_csv(os.path.join(train, f)) for f in sorted(os.listdir(train)))
target = data.pop("target")
model = LinearRegression().fit(data, target)
joblib.dump(model, "/opt/ml/model/model.joblib")
with open("/opt/ml/checkpoints/last.txt", "w") as handle:
    handle.write("epoch 1")
with open("/opt/ml/output/data/rows.txt", "w") as handle:
    handle.write(str(len(data)))
report = {
    "model_dir": env.model_dir,
    "channel_input_dirs": env.channel_input_dirs,
    "hyperparameters": env.hyperparameters,
    "num_gpus": env.num_gpus,
    "num_cpus": env.num_cpus,
    "current_host": env.current_host,
    "hosts": env.hosts,
    "instance_type": env.current_instance_type,
    "job_name": env.job_name,
    "opt_ml_is_mounted": os.path.samefile("/opt/ml/model", os.environ["SM_MODEL_DIR"]),
    "cwd": os.getcwd(),
}
print("REPORT=" + json.dumps(report), flush=True)
