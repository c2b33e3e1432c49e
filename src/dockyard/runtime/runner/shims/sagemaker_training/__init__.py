"""Dockyard's stand-in for SageMaker's training toolkit (``sagemaker-training``).

Only what training scripts use: :mod:`sagemaker_training.environment`. The real package (28
packages and about 250 MB with boto3, gevent, paramiko and scipy) wins when the job lists
``sagemaker-training`` in its ``requirements.txt``.
"""
