"""An XGBoost framework-mode script in the shape of SageMaker's abalone example: it imports
sagemaker_containers and sagemaker_xgboost_container (no Dockyard imports)."""

import argparse
import json
import logging
import os
import pickle as pkl

import xgboost as xgb
from sagemaker_containers import entry_point
from sagemaker_xgboost_container import distributed
from sagemaker_xgboost_container.data_utils import get_dmatrix


def _xgb_train(params, dtrain, evals, num_boost_round, model_dir, is_master):
    booster = xgb.train(params=params, dtrain=dtrain, evals=evals, num_boost_round=num_boost_round)
    if is_master:
        model_location = model_dir + "/xgboost-model"
        pkl.dump(booster, open(model_location, "wb"))
        logging.info("Stored trained model at %s", model_location)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_depth", type=int)
    parser.add_argument("--eta", type=float)
    parser.add_argument("--objective", type=str)
    parser.add_argument("--num_round", type=int)
    parser.add_argument("--model_dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", type=str, default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--sm_hosts", type=str, default=os.environ.get("SM_HOSTS"))
    parser.add_argument("--sm_current_host", type=str, default=os.environ.get("SM_CURRENT_HOST"))
    args, _ = parser.parse_known_args()

    sm_hosts = json.loads(args.sm_hosts)
    dtrain = get_dmatrix(args.train, "libsvm")
    dval = get_dmatrix(args.validation, "csv")
    watchlist = (
        [(dtrain, "train"), (dval, "validation")] if dval is not None else [(dtrain, "train")]
    )
    print(f"rows train={dtrain.num_row()} validation={dval.num_row()}", flush=True)

    train_hp = {"max_depth": args.max_depth, "eta": args.eta, "objective": args.objective}
    xgb_train_args = dict(
        params=train_hp,
        dtrain=dtrain,
        evals=watchlist,
        num_boost_round=args.num_round,
        model_dir=args.model_dir,
    )
    if len(sm_hosts) > 1:
        entry_point._wait_hostname_resolution()
    distributed.rabit_run(
        exec_fun=_xgb_train,
        args=xgb_train_args,
        include_in_training=(dtrain is not None),
        hosts=sm_hosts,
        current_host=args.sm_current_host,
        update_rabit_args=True,
    )


def model_fn(model_dir):
    return pkl.load(open(os.path.join(model_dir, "xgboost-model"), "rb"))
