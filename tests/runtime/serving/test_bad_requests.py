"""Requests a model cannot score are refused with a 400 naming what is wrong, through the
clients people call endpoints with (httpx, boto3, tritonclient), never passed on to the model
to fail on (a 500 in the model's words) or, worse, to be scored as something else.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from tests.runtime.serving.conftest import FEATURES, Running, config, running, variant
from tests.runtime.serving.test_aws import runtime


@pytest.fixture(scope="module")
def worker(packages: dict[str, Path]) -> Iterator[Running]:
    """xgboost: four double columns (a model that scores missing values); sklearn: a
    LogisticRegression on (f double, n long), which fails on them."""
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [
            variant("xgboost", packages["xgboost"]),
            variant("sklearn", packages["sklearn"], weight=0),
        ],
    )
    try:
        with running(cfg) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _post(worker: Running, body: bytes, variant: str, content_type: str) -> Any:
    return worker.client.post(
        "/invocations",
        content=body,
        headers={"content-type": content_type, "x-dockyard-target-variant": variant},
    )


@pytest.mark.parametrize(
    ("variant", "body", "message"),
    [
        ("xgboost", b"1,2,3,4\n5,6,7\n", "line 2 of the CSV body has 3 fields; this model takes 4"),
        ("xgboost", b"1,2,3,4\n5,6,7,8\n9\n", "line 3 of the CSV body has 1 field; this model"),
        ("xgboost", b"a,b,c,d\n1,2,3,4\n5,6\n", "line 3 of the CSV body has 2 fields"),
        ("sklearn", b"0.5,1\n0.25\n", "line 2 of the CSV body has 1 field; this model takes 2"),
    ],
    ids=["short-last-row", "short-third-row", "after-a-header", "model-that-fails-on-nan"],
)
def test_a_short_csv_row_is_refused_naming_its_line(
    worker: Running, variant: str, body: bytes, message: str
) -> None:
    # pandas filled a short row with missing values: XGBoost scored it (a prediction for a
    # row nobody sent), scikit-learn failed on it (a 500 about NaN).
    response = _post(worker, body, variant, "text/csv")
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


def test_a_short_csv_row_through_boto3_is_a_client_error_of_the_model(worker: Running) -> None:
    client = runtime(worker.url)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="ep", Body=b"1,2,3,4\n5,6,7\n", ContentType="text/csv")
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert "line 2 of the CSV body has 3 fields" in error["Error"]["Message"]


def test_a_byte_order_mark_does_not_hide_the_header(worker: Running) -> None:
    # Excel's "CSV UTF-8" starts with one: the header line is still the signature's names.
    body = "\ufeff" + ",".join(FEATURES) + "\n1,2,3,4\n"
    response = _post(worker, body.encode(), "xgboost", "text/csv")
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) == 1  # one prediction: the header was no row


@pytest.mark.parametrize(
    "body",
    [
        '{{"dataframe_split": {{"columns": {columns}, "data": []}}}}',
        '{{"inputs": {empty}}}',
        '{{"instances": []}}',
    ],
    ids=["split", "columns", "instances"],
)
@pytest.mark.parametrize(("variant", "names"), [("xgboost", FEATURES), ("sklearn", ["f", "n"])])
def test_no_rows_is_a_client_error(
    worker: Running, body: str, variant: str, names: list[str]
) -> None:
    empty = json.dumps({name: [] for name in names})
    text = body.format(columns=json.dumps(names), empty=empty)
    response = _post(worker, text.encode(), variant, "application/json")
    assert response.status_code == 400, response.text
    assert "the input has no rows" in response.json()["message"]


def test_an_empty_tensor_through_tritonclient_is_a_client_error(worker: Running) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(url=worker.url.removeprefix("http://"))
    try:
        for model, width in (("xgboost", 4), ("sklearn", 2)):
            tensor = httpclient.InferInput("input", [0, width], "FP64")
            tensor.set_data_from_numpy(np.zeros((0, width)), binary_data=True)
            with pytest.raises(InferenceServerException) as caught:
                client.infer("ep", [tensor], model_version=model)
            assert caught.value.status() == "400"
            assert "the input has no rows" in caught.value.message()
    finally:
        client.close()


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b'"1,2,3,4"', "a string"), (b"5", "a number"), (b"true", "a boolean"), (b"null", "null")],
)
def test_a_json_scalar_is_named_as_what_it_is(worker: Running, body: bytes, kind: str) -> None:
    # A JSON string was parsed twice and reported as "not valid JSON".
    response = _post(worker, body, "xgboost", "application/json")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == f"a JSON request must be an object or a list, not {kind}"


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ("invoke_endpoint_async", "InvokeEndpointAsync"),
        ("invoke_endpoint_with_response_stream", "InvokeEndpointWithResponseStream"),
    ],
)
def test_runtime_operations_dockyard_lacks_are_named(
    worker: Running, operation: str, named: str
) -> None:
    # The endpoint's port answered "no route /endpoints/ep/async-invocations".
    arguments: dict[str, Any] = (
        {"InputLocation": "s3://bucket/in.csv"}
        if operation == "invoke_endpoint_async"
        else {"Body": b"1,2,3,4", "ContentType": "text/csv"}
    )
    with pytest.raises(ClientError) as caught:
        getattr(runtime(worker.url), operation)(EndpointName="ep", **arguments)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith(f"{named} (")
    assert "is not supported by Dockyard endpoints: use InvokeEndpoint" in error["Message"]


def test_a_json_row_of_the_wrong_width_is_named(worker: Running) -> None:
    # "every row needs 4 values" left the caller to find which of their rows was short.
    body = json.dumps({"instances": [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]})
    response = _post(worker, body.encode(), "xgboost", "application/json")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "row 2 has 3 values; every row needs 4 values"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"1,2,3,4\n5,6,x,8\n", "line 2 of the CSV body: column 'c': 'x'"),
        (b"a,b,c,d\n1,2,3,4\nnan,6,7,8\n", "line 3 of the CSV body: column 'a': 'nan'"),
        (b"b,a,c,d\n1,2,3,4\n", "line 1 of the CSV body: column 'a': 'b'"),
    ],
    ids=["text-in-a-row", "after-the-header", "a-header-in-another-order"],
)
def test_text_in_a_numeric_csv_column_is_named_by_its_line(
    worker: Running, body: bytes, where: str
) -> None:
    response = _post(worker, body, "xgboost", "text/csv")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == f"{where} is not a number (expected double)"


def test_a_short_dataframe_split_row_is_refused_not_scored_as_missing(worker: Running) -> None:
    # The xgboost variant scores missing values: a short row padded with NaN was answered.
    split = {"columns": ["a", "b", "c", "d"], "data": [[1, 2, 3, 4], [5.0]]}
    response = _post(
        worker, json.dumps({"dataframe_split": split}).encode(), "xgboost", "application/json"
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"] == (
        "dataframe_split: data[1] has 1 value; every row needs 4, one per column"
    )


def test_two_scoring_envelopes_in_one_request_are_refused(worker: Running) -> None:
    # One was scored and the other dropped without a word; MLflow's server refuses it.
    body = json.dumps({"inputs": [[1, 2, 3, 4]], "instances": [[5, 6, 7, 8], [9, 10, 11, 12]]})
    response = _post(worker, body.encode(), "xgboost", "application/json")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == (
        "the request names instances and inputs: send exactly one of dataframe_split, "
        "dataframe_records, instances, inputs"
    )


def test_json_columns_of_unequal_lengths_are_named(worker: Running) -> None:
    # MLflow's columnar "inputs": a short column was a 500 (pandas' ValueError).
    body = json.dumps({"inputs": {"a": [1.0], "b": [2.0, 3.0], "c": [4.0], "d": [5.0]}})
    response = _post(worker, body.encode(), "xgboost", "application/json")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == (
        "column 'b' of the dict input has 2 value(s) where 'a' has 1: every column needs one "
        "value per row"
    )
    assert response.json()["field"] == "b"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b",1\n", "line 1, field 1 (f) of the CSV body is empty (a missing value); "),
        (b"f,n\n0.5,1\n,2\n", "line 3, field 1 (f) of the CSV body is empty (a missing value); "),
    ],
    ids=["headerless", "after-a-header"],
)
def test_an_empty_csv_field_the_model_refuses_is_a_client_error_naming_it(
    worker: Running, body: bytes, where: str
) -> None:
    # scikit-learn raised on the NaN the empty field became: a 500 in the model's words.
    response = _post(worker, body, "sklearn", "text/csv")
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "input_rejected"
    assert error["error_code"] == "BAD_REQUEST"
    assert error["message"].startswith(where + "the sklearn model failed: Input X contains NaN")
    assert error["details"]["line"] == int(where.split()[1].rstrip(","))


def test_an_empty_csv_field_is_a_missing_value_a_model_may_score(worker: Running) -> None:
    response = _post(worker, b"1.0,,3.0,4.0\n", "xgboost", "text/csv")
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) == 1


def test_a_null_the_model_refuses_is_named_by_row_and_column(worker: Running) -> None:
    body = json.dumps({"dataframe_records": [{"f": 0.5, "n": 1}, {"f": None, "n": 2}]})
    response = _post(worker, body.encode(), "sklearn", "application/json")
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith("row 2, column f of the input is null or NaN (a missing value); ")


def test_an_empty_csv_field_through_boto3_is_a_client_error_of_the_model(
    worker: Running,
) -> None:
    client = runtime(worker.url)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(
            EndpointName="ep", Body=b",1\n", ContentType="text/csv", TargetVariant="sklearn"
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert "Received client error (400) from variant sklearn" in error["Error"]["Message"]
    assert "line 1, field 1 (f) of the CSV body is empty" in error["Error"]["Message"]


def test_a_nan_tensor_through_tritonclient_is_a_client_error_naming_it(worker: Running) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(url=worker.url.removeprefix("http://"))
    try:
        f = httpclient.InferInput("f", [2], "FP64")
        f.set_data_from_numpy(np.array([0.5, np.nan]), binary_data=True)
        n = httpclient.InferInput("n", [2], "INT64")
        n.set_data_from_numpy(np.array([1, 2]), binary_data=True)
        with pytest.raises(InferenceServerException) as caught:
            client.infer("ep", [f, n], model_version="sklearn")
        assert caught.value.status() == "400"
        assert caught.value.message().startswith("row 2, column f of the input is null or NaN")
        assert "the sklearn model failed" in caught.value.message()
    finally:
        client.close()
