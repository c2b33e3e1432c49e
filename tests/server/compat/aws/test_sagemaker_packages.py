"""Model package groups and packages through boto3's ``sagemaker`` client, over the registry:
a group is a registered model, a package one of its versions, ModelApprovalStatus the
version's approval (what the native API's approval history shows). A live server with accounts
and fixtures of :mod:`tests.server.compat.aws.test_sagemaker`."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.server.compat.aws.test_sagemaker import (  # noqa: F401 (fixtures)
    PASSWORD,
    Live,
    aws,
    error,
    live,
    sagemaker_client,
    trained,
)

pytestmark = [pytest.mark.slow, pytest.mark.s3]

IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"


def _reviewer(on: Live) -> str:
    """A token of a second account, who may decide on what the first registered."""
    ana = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    bo = base64.b64encode(f"bo:{PASSWORD}".encode()).decode()
    with httpx.Client(base_url=on.server.url) as http:
        made = http.post(
            "/api/v1/users",
            json={"name": "bo", "role": "admin", "password": PASSWORD},
            headers={"Authorization": f"Basic {ana}"},
        )
        assert made.status_code == 201, made.text
        token = http.post(
            "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {bo}"}
        )
        return str(token.json()["token"])


def _inference(sm: Any, job: str) -> dict[str, Any]:
    artifacts = sm.describe_training_job(TrainingJobName=job)["ModelArtifacts"]
    return {
        "Containers": [{"Image": IMAGE, "ModelDataUrl": artifacts["S3ModelArtifacts"]}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


def test_packages_are_registered_versions_and_approval_is_theirs(
    aws: Live,  # noqa: F811
    trained: str,  # noqa: F811
) -> None:
    sm = sagemaker_client(aws)
    made = sm.create_model_package_group(
        ModelPackageGroupName="churn",
        ModelPackageGroupDescription="churn models",
        Tags=[{"Key": "team", "Value": "growth"}],
    )
    group = sm.describe_model_package_group(ModelPackageGroupName="churn")
    assert group["ModelPackageGroupArn"] == made["ModelPackageGroupArn"]
    assert group["ModelPackageGroupDescription"] == "churn models"
    assert group["ModelPackageGroupStatus"] == "Completed"
    assert sm.list_tags(ResourceArn=made["ModelPackageGroupArn"])["Tags"] == [
        {"Key": "team", "Value": "growth"}
    ]

    inference = _inference(sm, trained)
    first = sm.create_model_package(
        ModelPackageGroupName="churn",
        ModelPackageDescription="first try",
        InferenceSpecification=inference,
    )["ModelPackageArn"]
    # Who registered a version may not approve it: refused, and nothing registered.
    with pytest.raises(ClientError) as caught:
        sm.create_model_package(
            ModelPackageGroupName="churn",
            InferenceSpecification=inference,
            ModelApprovalStatus="Approved",
        )
    code, text = error(caught)
    assert code == "AccessDeniedException" and text.startswith("ModelApprovalStatus: ana "), text
    second = sm.create_model_package(
        ModelPackageGroupName=made["ModelPackageGroupArn"],  # a group by its ARN
        InferenceSpecification=inference,
        CustomerMetadataProperties={"dataset": "2026-11"},
    )["ModelPackageArn"]
    assert first.endswith("model-package/churn/1") and second.endswith("model-package/churn/3")
    reviewer = sagemaker_client(aws, token=_reviewer(aws))
    reviewer.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved")

    package = sm.describe_model_package(ModelPackageName=first)
    assert (package["ModelPackageGroupName"], package["ModelPackageVersion"]) == ("churn", 1)
    assert package["ModelPackageStatus"] == "Completed"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelPackageDescription"] == "first try"
    assert package["InferenceSpecification"] == inference
    assert sm.describe_model_package(ModelPackageName="churn/3")["CustomerMetadataProperties"] == {
        "dataset": "2026-11"
    }

    reviewer.update_model_package(
        ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="AUC 0.91"
    )
    reviewer.update_model_package(
        ModelPackageArn=first, ModelApprovalStatus="Rejected", ApprovalDescription="leaky"
    )
    package = sm.describe_model_package(ModelPackageName=first)
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == (
        "Rejected",
        "leaky",
    )
    history = httpx.get(
        f"{aws.server.url}/api/v1/registered-models/churn/versions/1/approvals",
        headers={"Authorization": f"Bearer {aws.token}"},
    ).json()["approvals"]
    assert [(a["status"], a["comment"]) for a in history] == [
        ("Approved", "AUC 0.91"),
        ("Rejected", "leaky"),
    ]

    approved = sm.list_model_packages(ModelPackageGroupName="churn", ModelApprovalStatus="Approved")
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [second]
    newest = sm.list_model_packages(
        ModelPackageGroupName="churn", SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )
    assert [p["ModelPackageVersion"] for p in newest["ModelPackageSummaryList"]] == [3]
    rest = sm.list_model_packages(
        ModelPackageGroupName="churn",
        SortBy="CreationTime",
        SortOrder="Descending",
        NextToken=newest["NextToken"],
    )
    assert [p["ModelPackageVersion"] for p in rest["ModelPackageSummaryList"]] == [1]
    groups = sm.list_model_package_groups(NameContains="chur")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["churn"]

    # Only an approved package deploys, as on SageMaker: a rejected one makes no model.
    with pytest.raises(ClientError) as caught:
        sm.create_model(
            ModelName="churn-rejected",
            PrimaryContainer={"ModelPackageName": first},
            ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
        )
    code, text = error(caught)
    assert code == "ValidationException", text
    assert text.startswith(f"PrimaryContainer.ModelPackageName: model package {first} is Rejected")
    assert sm.list_models(NameContains="churn-rejected")["Models"] == []
    # An approved package deploys as ModelPackage(...).deploy() asks: a model naming it.
    sm.create_model(
        ModelName="churn-approved",
        PrimaryContainer={"ModelPackageName": second},
        ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
    )
    model = sm.describe_model(ModelName="churn-approved")
    assert model["PrimaryContainer"]["ModelDataUrl"] == "models:/churn/3"
    sm.delete_model(ModelName="churn-approved")

    with pytest.raises(ClientError) as caught:
        sm.delete_model_package_group(ModelPackageGroupName="churn")
    assert error(caught)[0] == "ConflictException"
    sm.delete_model_package(ModelPackageName=first)
    sm.delete_model_package(ModelPackageName=second)
    sm.delete_model_package_group(ModelPackageGroupName="churn")
    with pytest.raises(ClientError) as caught:
        sm.describe_model_package_group(ModelPackageGroupName="churn")
    assert error(caught) == ("ValidationException", "ModelPackageGroup churn does not exist.")


def test_a_sagemaker_model_is_no_package_group(aws: Live, trained: str) -> None:  # noqa: F811
    sm = sagemaker_client(aws)
    artifacts = sm.describe_training_job(TrainingJobName=trained)["ModelArtifacts"]
    sm.create_model(
        ModelName="plain-model",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifacts["S3ModelArtifacts"]},
        ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
    )
    listed = sm.list_model_package_groups(NameContains="plain")["ModelPackageGroupSummaryList"]
    assert listed == []
    sm.delete_model(ModelName="plain-model")


@pytest.mark.parametrize(
    ("call", "args", "message"),
    [
        (
            "create_model_package",
            {"InferenceSpecification": {"Containers": [{"Image": IMAGE}]}},
            "ModelPackageGroupName: Dockyard keeps model packages in groups",
        ),
        (
            "create_model_package",
            {
                "ModelPackageGroupName": "bad-in",
                "InferenceSpecification": {"Containers": [{"Image": IMAGE}]},
            },
            "InferenceSpecification.Containers[0].ModelDataUrl (or SourceUri) must name",
        ),
        (
            "update_model_package",
            {"ModelPackageArn": "bad-in/1", "ModelApprovalStatus": "Maybe"},
            "ModelApprovalStatus must be one of PendingManualApproval, Approved, Rejected",
        ),
        (
            "describe_model_package",
            {"ModelPackageName": "bad-in"},
            "ModelPackageName: 'bad-in' names no versioned model package",
        ),
        (
            "describe_model_package",
            {"ModelPackageName": "bad-in/7"},
            "ModelPackage arn:aws:sagemaker:us-east-1:000000000000:model-package/bad-in/7 "
            "does not exist.",
        ),
        (
            "create_model_package_group",
            {"ModelPackageGroupName": "bad-in"},
            "Model Package Group already exists",
        ),
        (
            "create_model",
            {"ModelName": "bad-in-model", "PrimaryContainer": {"ModelPackageName": "bad-in"}},
            "PrimaryContainer.ModelPackageName: 'bad-in' names no versioned model package",
        ),
        (
            "list_model_packages",
            {"SortBy": "Size"},
            "SortBy must be one of Name, CreationTime",
        ),
    ],
    ids=[
        "no-group",
        "no-model-data",
        "status",
        "unversioned",
        "unknown",
        "twice",
        "model-from-no-package",
        "sort",
    ],
)
def test_bad_package_requests_are_validation_errors_naming_the_field(
    aws: Live,  # noqa: F811
    call: str,
    args: dict[str, Any],
    message: str,
) -> None:
    sm = sagemaker_client(aws)
    with contextlib.suppress(ClientError):  # made by an earlier case
        sm.create_model_package_group(ModelPackageGroupName="bad-in")
    with pytest.raises(ClientError) as caught:
        getattr(sm, call)(**args)
    code, text = error(caught)
    assert code == "ValidationException" and text.startswith(message), text
