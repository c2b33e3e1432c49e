"""Imports a part of SageMaker's XGBoost container that Dockyard has no stand-in for."""

from sagemaker_xgboost_container.checkpointing import train  # noqa: F401
