"""AWS's JSON protocol (``POST /`` with ``X-Amz-Target: <Service>.<Action>``) and query protocol
(a form-encoded ``POST /`` naming its ``Action``), so boto3 clients pointed at the server
(``endpoint_url``) work unchanged.

Layout::

    _dispatch.py       the one route: reads the target, finds the service's actions, answers
    _query.py          the query protocol's branch of it: forms in, XML out (SNS)
    _errors.py         any exception -> {"__type", "message"} with AWS's code and status
    _codes.py          one service's AWS codes for Dockyard's errors, applied to its actions
    _fields.py         reading a request's fields into Dockyard's typed requests
    _arn.py            the region and account of the ARNs formed here
    _stepfunctions.py  AWSStepFunctions.* over the pipelines service
    _logs.py           Logs_20140328.* (CloudWatch Logs) over job logs
    _ssm.py            AmazonSSM.* (Parameter Store) over the parameter store
    _sns.py            SNS (2010-03-31, query protocol) over notification topics
    _sagemaker*.py     SageMaker.* over jobs, the registry and endpoints

A JSON service plugs in with one line in ``_dispatch.TARGETS`` (target prefix -> module holding
an ``ACTIONS`` table and its protocol version), a query one with one line in
``_query.VERSIONS`` (API version -> module with ``ACTIONS`` and its XML namespace), resolved when
first called. The server's one
authentication layer has identified the caller already (a SigV4-signed request's session token
is a Dockyard token); actions call services with that actor, which decide what it may do.
"""

from __future__ import annotations

from dockyard.server.compat.aws._dispatch import router
from dockyard.server.compat.aws._sagemaker_tuning import native_tuning_spec

__all__ = ["native_tuning_spec", "router"]
