"""Step Functions' API through boto3's own ``stepfunctions`` client against a live server (on
the stand-in core: the adapter's translation and AWS-shaped errors, end to end over HTTP)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.server.pipelines._core import StandInCore
from tests.server.pipelines._live import served, stepfunctions

from dockyard.client.http import Client
from dockyard.client.http import routes as r
from dockyard.server._services import Services
from dockyard.settings import Settings

WAIT = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": "approvals", "Message": {"token": "$$.Task.Token"}},
            "End": True,
        }
    },
}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    made = Services.from_settings(
        Settings(home=tmp_path / "home", data_roots=[str(tmp_path)], scheduler=True)
    )
    made.pipelines.engine.core = StandInCore()
    with served(made) as url:
        yield url, made
    made.close()


@pytest.fixture
def sfn(live: tuple[str, Services]) -> Iterator[Any]:
    client = stepfunctions(live[0])
    yield client
    client.close()


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def ended(url: str, execution_arn: str) -> dict[str, Any]:
    """The execution once it ended (the native API's long poll)."""
    _, _, _, _, _, _, machine, name = execution_arn.split(":")
    answer = httpx.get(
        f"{url}/api/v1/pipelines/{machine}/executions/{name}", params={"wait": 30}, timeout=40
    )
    found: dict[str, Any] = answer.json()
    return found


def test_create_describe_list_start_history_stop(sfn: Any) -> None:
    made = sfn.create_state_machine(
        name="nap", definition=json.dumps(WAIT), roleArn="arn:aws:iam::0:role/x"
    )
    arn = made["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:000000000000:stateMachine:nap"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(described["definition"]) == WAIT
    assert described["type"] == "STANDARD" and described["status"] == "ACTIVE"
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["nap"]
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"x": 1}')
    execution = started["executionArn"]
    assert execution.endswith(":execution:nap:first")
    found = sfn.describe_execution(executionArn=execution)
    assert found["status"] == "RUNNING" and json.loads(found["input"]) == {"x": 1}
    listed = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [e["name"] for e in listed] == ["first"]
    stopped = sfn.stop_execution(executionArn=execution, error="Enough", cause="test")
    assert stopped["stopDate"]
    found = sfn.describe_execution(executionArn=execution)
    assert (found["status"], found["error"]) == ("ABORTED", "Enough")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionAborted"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"x": 1}
    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)
    assert "input" not in bare["events"][0]["executionStartedEventDetails"]
    newest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)
    assert newest["events"][0]["type"] == "ExecutionAborted" and newest["nextToken"]
    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert for_execution["stateMachineArn"] == arn
    assert json.loads(for_execution["definition"]) == WAIT
    redriven = sfn.redrive_execution(executionArn=execution)
    assert redriven["redriveDate"]
    assert sfn.describe_execution(executionArn=execution)["redriveCount"] == 1
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(ASK))
    assert "Ask" in sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    sfn.delete_state_machine(stateMachineArn=arn)
    assert sfn.list_state_machines()["stateMachines"] == []


def test_errors_have_the_codes_botocore_expects(live: tuple[str, Services], sfn: Any) -> None:
    url, _ = live
    missing = "arn:aws:states:us-east-1:000000000000:stateMachine:missing"
    with pytest.raises(ClientError) as error:
        sfn.describe_state_machine(stateMachineArn=missing)
    assert code(error) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as error:
        sfn.describe_execution(executionArn="not-an-arn")
    assert code(error) == "InvalidArn"
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(
            name="bad", definition='{"StartAt": "X", "States": {}}', roleArn="r"
        )
    assert code(error) == "InvalidDefinition"
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(name="bad name!", definition=json.dumps(WAIT), roleArn="r")
    assert code(error) == "InvalidName"
    arn = sfn.create_state_machine(name="nap", definition=json.dumps(WAIT), roleArn="r")[
        "stateMachineArn"
    ]
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(name="nap", definition=json.dumps(ASK), roleArn="r")
    assert code(error) == "StateMachineAlreadyExists"
    sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    with pytest.raises(ClientError) as error:
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"other": 1}')
    assert code(error) == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as error:
        sfn.start_execution(stateMachineArn=arn, input="not json")
    assert code(error) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as error:
        sfn.send_task_success(taskToken="no-such-token", output="{}")
    assert code(error) == "TaskDoesNotExist"
    # a field out of bounds is named as the caller sent it, not as the pipelines API calls it
    for call, field in (
        (lambda: sfn.send_task_success(taskToken="t" * 1025, output="{}"), "taskToken"),
        (lambda: sfn.send_task_failure(taskToken="t" * 1025), "taskToken"),
        (lambda: sfn.send_task_heartbeat(taskToken="t" * 1025), "taskToken"),
        (
            lambda: sfn.create_state_machine(
                name="long", definition=json.dumps(WAIT), roleArn="r" * 257
            ),
            "roleArn",
        ),
        (lambda: sfn.update_state_machine(stateMachineArn=arn, roleArn="r" * 257), "roleArn"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        said = error.value.response["Error"]["Message"]
        assert said.startswith(f"{field}: String should have at most"), said
    with pytest.raises(ClientError) as error:
        sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert code(error) == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as error:
        sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={"level": "ALL"})
    assert code(error) == "MissingRequiredParameter"
    assert "definition or a roleArn" in error.value.response["Error"]["Message"]
    # deleting what does not exist succeeds, as in AWS (scripts and Terraform delete again)
    sfn.delete_state_machine(stateMachineArn=missing)
    answer = httpx.post(url + "/", headers={"X-Amz-Target": "AWSStepFunctions.Nope"}, json={})
    assert answer.json()["__type"] == "UnknownOperationException"
    checked = sfn.validate_state_machine_definition(definition='{"StartAt": "X", "States": {}}')
    assert checked["result"] == "FAIL" and checked["diagnostics"][0]["location"] == "/StartAt"
    assert checked["diagnostics"][0]["severity"] == "ERROR"


def test_a_value_outside_a_fields_choices_is_a_validation_error(sfn: Any) -> None:
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(name="odd", definition=json.dumps(WAIT), roleArn="r", type="FAST")
    assert code(error) == "ValidationException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error.value.response["Error"]["Message"]
    assert "'FAST' at 'type'" in message and "[STANDARD, EXPRESS]" in message
    assert sfn.list_state_machines()["stateMachines"] == []
    arn = sfn.create_state_machine(name="nap", definition=json.dumps(WAIT), roleArn="r")[
        "stateMachineArn"
    ]
    with pytest.raises(ClientError) as error:
        sfn.list_executions(stateMachineArn=arn, statusFilter="DONE")
    assert code(error) == "ValidationException"
    assert "'DONE' at 'statusFilter'" in error.value.response["Error"]["Message"]
    # a page larger than AWS gives is refused as AWS refuses it, not cut short silently
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    for call in (
        lambda: sfn.list_state_machines(maxResults=1001),
        lambda: sfn.list_executions(stateMachineArn=arn, maxResults=5000),
        lambda: sfn.get_execution_history(executionArn=execution, maxResults=1001),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "ValidationException"
        assert "at 'maxResults'" in error.value.response["Error"]["Message"]
    assert sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    # map runs are not kept: asking for one's executions is refused, not answered with others
    run = arn.replace(":stateMachine:", ":mapRun:") + "/Fan:0"
    for given in ({"mapRunArn": run}, {"stateMachineArn": arn, "mapRunArn": run}):
        with pytest.raises(ClientError) as error:
            sfn.list_executions(**given)
        assert code(error) == "ValidationException"
        assert "map runs are not kept" in error.value.response["Error"]["Message"]


def test_arns_of_any_region_and_account_and_qualified_arns_name_the_machine(sfn: Any) -> None:
    """ARNs copied from AWS (scripts, Terraform outputs) carry the account's region and id;
    a version or alias qualifier is dropped, as versions are not kept."""
    arn = sfn.create_state_machine(name="nap", definition=json.dumps(WAIT), roleArn="r")[
        "stateMachineArn"
    ]
    theirs = "arn:aws:states:eu-west-1:123456789012:stateMachine:nap"
    for given in (theirs, f"{theirs}:3", f"{arn}:prod"):
        assert sfn.describe_state_machine(stateMachineArn=given)["stateMachineArn"] == arn
    started = sfn.start_execution(stateMachineArn=f"{theirs}:prod", name="copied", input="{}")
    execution = started["executionArn"]
    assert execution == arn.replace(":stateMachine:", ":execution:") + ":copied"
    copied = "arn:aws:states:eu-west-1:123456789012:execution:nap:copied"
    assert sfn.describe_execution(executionArn=copied)["status"] == "RUNNING"
    assert sfn.get_execution_history(executionArn=copied)["events"][0]["id"] == 1
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=theirs)["executions"]]
    assert names == ["copied"]
    sfn.stop_execution(executionArn=copied)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    sfn.update_state_machine(stateMachineArn=theirs, roleArn="arn:aws:iam::1:role/new")
    assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == "arn:aws:iam::1:role/new"
    sfn.delete_state_machine(stateMachineArn=theirs)
    assert sfn.list_state_machines()["stateMachines"] == []


def test_names_follow_aws_rule_dots_and_any_script_included(
    live: tuple[str, Services], sfn: Any
) -> None:
    machine = sfn.create_state_machine(
        name="retrain.v2", definition=json.dumps(WAIT), roleArn="arn:aws:iam::0:role/x"
    )["stateMachineArn"]
    name = "run+2026-12-06@nuit.été"
    execution = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    assert execution.endswith(":retrain.v2:run+2026-12-06@nuit.été")
    assert sfn.describe_execution(executionArn=execution)["name"] == name
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["name"] for e in listed] == [name]
    with Client(live[0]) as client:  # the native API's paths carry them, quoted
        found = client.call(r.GET_EXECUTION(name="retrain.v2", execution=name))
    assert found["status"] == "RUNNING"
    sfn.stop_execution(executionArn=execution)
    for bad in ("two words", "a/b", "q?", "tab\tin", "..", "x" * 81):
        with pytest.raises(ClientError) as error:
            sfn.start_execution(stateMachineArn=machine, name=bad)
        assert code(error) == "InvalidName", bad
        said = error.value.response["Error"]["Message"]
        assert said.startswith("name: ") and "is not a valid name" in said, said
        assert "Value error" not in said, said
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(name="a:b", definition=json.dumps(WAIT), roleArn="r")
    assert code(error) == "InvalidName"
    # Half a surrogate pair is no character: refused, where the database could not store it.
    body = json.dumps({"name": "half\ud800", "definition": json.dumps(WAIT), "role_arn": "r"})
    refused = httpx.post(
        f"{live[0]}/api/v1/pipelines", content=body, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "name"
    # The native API's paths take names: one with a ':' is refused as a name, never read as
    # an ARN's qualifier (DELETE /api/v1/pipelines/retrain.v2:x deleted retrain.v2)
    pipelines = f"{live[0]}/api/v1/pipelines"
    for method, path in (
        ("DELETE", "/retrain.v2:x"),
        ("GET", "/retrain.v2:x"),
        ("GET", "/retrain.v2:x/executions"),
        ("POST", "/retrain.v2/executions/a:b/stop"),
    ):
        answer = httpx.request(method, pipelines + path, json={})
        assert answer.status_code == 400, (method, path, answer.text)
        assert "is not a valid name" in answer.json()["error"]["message"], answer.text
    assert sfn.describe_state_machine(stateMachineArn=machine)["name"] == "retrain.v2"


def test_a_page_token_of_another_listing_is_refused(live: tuple[str, Services], sfn: Any) -> None:
    url, _ = live
    arns = [
        sfn.create_state_machine(name=name, definition=json.dumps(WAIT), roleArn="r")[
            "stateMachineArn"
        ]
        for name in ("one", "two")
    ]
    for name in ("a", "b"):
        sfn.start_execution(stateMachineArn=arns[0], name=name, input="{}")
    execution = arns[0].replace(":stateMachine:", ":execution:") + ":a"
    tokens = {
        "machines": sfn.list_state_machines(maxResults=1)["nextToken"],
        "executions": sfn.list_executions(stateMachineArn=arns[0], maxResults=1)["nextToken"],
        "history": sfn.get_execution_history(executionArn=execution, maxResults=1)["nextToken"],
        "made up": base64.urlsafe_b64encode(b'["x", "y"]').decode(),
    }
    calls = {
        "machines": lambda token: sfn.list_state_machines(nextToken=token),
        "executions": lambda token: sfn.list_executions(stateMachineArn=arns[0], nextToken=token),
        "history": lambda token: sfn.get_execution_history(executionArn=execution, nextToken=token),
    }
    for listing, call in calls.items():
        for made_for, token in tokens.items():
            if made_for == listing:
                assert call(token)  # its own token reads the next page
                continue
            with pytest.raises(ClientError) as error:
                call(token)
            assert code(error) == "InvalidToken", (listing, made_for)
            assert "page token" in error.value.response["Error"]["Message"]
    # a token is for the listing it came from: not another machine's, nor the other order,
    # nor other filters (AWS's InvalidToken)
    with pytest.raises(ClientError) as error:
        sfn.list_executions(stateMachineArn=arns[1], nextToken=tokens["executions"])
    assert code(error) == "InvalidToken"
    with pytest.raises(ClientError) as error:
        sfn.get_execution_history(
            executionArn=execution, nextToken=tokens["history"], reverseOrder=True
        )
    assert code(error) == "InvalidToken"
    running = sfn.list_executions(stateMachineArn=arns[0], statusFilter="RUNNING", maxResults=1)
    assert sfn.list_executions(
        stateMachineArn=arns[0], statusFilter="RUNNING", nextToken=running["nextToken"]
    )["executions"]
    for other in ({"statusFilter": "ABORTED"}, {}, {"redriveFilter": "NOT_REDRIVEN"}):
        with pytest.raises(ClientError) as error:
            sfn.list_executions(stateMachineArn=arns[0], nextToken=running["nextToken"], **other)
        assert code(error) == "InvalidToken", other
    answer = httpx.get(
        f"{url}/api/v1/pipelines/one/executions", params={"next_token": tokens["made up"]}
    )
    assert answer.status_code == 400, answer.text
    assert "page token" in answer.json()["error"]["message"]


def test_list_executions_filters_on_redrives(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="nap", definition=json.dumps(WAIT), roleArn="r")[
        "stateMachineArn"
    ]
    for name in ("again", "once"):
        execution = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")
        sfn.stop_execution(executionArn=execution["executionArn"])
    sfn.redrive_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":again")

    def names(**filters: str) -> list[str]:
        found = sfn.list_executions(stateMachineArn=arn, **filters)["executions"]
        return sorted(e["name"] for e in found)

    assert names() == ["again", "once"]
    assert names(redriveFilter="REDRIVEN") == ["again"]
    assert names(redriveFilter="NOT_REDRIVEN") == ["once"]
    assert names(redriveFilter="REDRIVEN", statusFilter="ABORTED") == []
    # as AWS documents: PENDING_REDRIVE is a Map Run's children's status, refused with a
    # state machine's ARN rather than answered with an empty list
    with pytest.raises(ClientError) as error:
        sfn.list_executions(stateMachineArn=arn, statusFilter="PENDING_REDRIVE")
    assert code(error) == "ValidationException"
    assert "mapRunArn" in error.value.response["Error"]["Message"]


def test_task_token_round_trip(live: tuple[str, Services], sfn: Any) -> None:
    url, services = live
    httpx.post(f"{url}/api/v1/topics", json={"name": "approvals"}).raise_for_status()
    arn = sfn.create_state_machine(name="ask", definition=json.dumps(ASK), roleArn="r")[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def token() -> str | None:
        found = services.events.read(types=["topic.approvals"])
        return str(found[0].body["message"]["token"]) if found else None

    from tests.server.notifications._receiver import until

    sent = until(token, 15, "the task publishing its token")
    sfn.send_task_heartbeat(taskToken=sent)
    sfn.send_task_success(taskToken=sent, output='{"approved": true}')
    found = ended(url, execution)
    assert found["status"] == "SUCCEEDED" and json.loads(found["output"]) == {"approved": True}
    with pytest.raises(ClientError) as error:
        sfn.send_task_failure(taskToken=sent, error="Late")
    assert code(error) == "TaskDoesNotExist"


def test_an_express_machine_answers_synchronously(sfn: Any) -> None:
    chain = {
        "StartAt": "Hello",
        "States": {"Hello": {"Type": "Pass", "Result": {"hi": 1}, "End": True}},
    }
    arn = sfn.create_state_machine(
        name="quick", definition=json.dumps(chain), roleArn="r", type="EXPRESS"
    )["stateMachineArn"]
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"hi": 1}
    assert ":express:quick:" in answer["executionArn"]
    failing = {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    arn = sfn.create_state_machine(
        name="failing", definition=json.dumps(failing), roleArn="r", type="EXPRESS"
    )["stateMachineArn"]
    failed = sfn.start_sync_execution(stateMachineArn=arn, input="{}")["executionArn"]
    # an Express execution is never redriven, and DescribeExecution says so
    assert sfn.describe_execution(executionArn=failed)["redriveStatus"] == "NOT_REDRIVABLE"
    with pytest.raises(ClientError) as error:
        sfn.redrive_execution(executionArn=failed)
    assert code(error) == "ExecutionNotRedrivable"
    # a Standard machine that happens to be called "express" is redriven as any other
    arn = sfn.create_state_machine(name="express", definition=json.dumps(failing), roleArn="r")[
        "stateMachineArn"
    ]
    standard = sfn.start_execution(stateMachineArn=arn, name="once")["executionArn"]
    assert ":execution:express:once" in standard
    ended = sfn.describe_execution(executionArn=standard)  # a brief machine: run at its start
    assert (ended["status"], ended["redriveStatus"]) == ("FAILED", "REDRIVABLE")


def test_signed_requests_carry_a_token_and_pipelines_are_their_creators(
    live: tuple[str, Services],
) -> None:
    url, _ = live
    password = "correct horse battery"
    with httpx.Client(base_url=url) as http:
        made = http.post(
            "/api/v1/users", json={"name": "ana", "role": "admin", "password": password}
        )
        assert made.status_code == 201, made.text  # the first account: sign-in is now required
        admin = (base64.b64encode(f"ana:{password}".encode())).decode()
        headers = {"Authorization": f"Basic {admin}"}
        http.post("/api/v1/users", json={"name": "bob", "password": password}, headers=headers)
        tokens = {}
        for who in ("ana", "bob"):
            basic = base64.b64encode(f"{who}:{password}".encode()).decode()
            answer = http.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            tokens[who] = answer.json()["token"]
    anonymous, ana, bob = (stepfunctions(url, t) for t in (None, tokens["ana"], tokens["bob"]))
    try:
        with pytest.raises(ClientError) as error:
            anonymous.list_state_machines()
        assert code(error) == "UnrecognizedClientException"
        arn = ana.create_state_machine(name="anas", definition=json.dumps(WAIT), roleArn="r")[
            "stateMachineArn"
        ]
        with pytest.raises(ClientError) as error:
            bob.describe_state_machine(stateMachineArn=arn)
        assert code(error) == "AccessDeniedException"
        for call in (
            lambda: bob.list_tags_for_resource(resourceArn=arn),
            lambda: bob.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}]),
            lambda: bob.untag_resource(resourceArn=arn, tagKeys=["k"]),
        ):
            with pytest.raises(ClientError) as error:
                call()
            assert code(error) == "AccessDeniedException"
        assert bob.list_state_machines()["stateMachines"] == []
        assert [m["name"] for m in ana.list_state_machines()["stateMachines"]] == ["anas"]
        run = ana.start_execution(stateMachineArn=arn, name="r1")["executionArn"]
        assert ana.describe_execution(executionArn=run)["status"] == "RUNNING"
        with pytest.raises(ClientError) as error:
            bob.describe_execution(executionArn=run)
        assert code(error) == "AccessDeniedException"
        assert "anas" in error.value.response["Error"]["Message"]
    finally:
        for client in (anonymous, ana, bob):
            client.close()


def test_tags_as_terraform_and_the_cdk_use_them(live: tuple[str, Services], sfn: Any) -> None:
    tags = [{"key": "team", "value": "ml"}, {"key": "stage", "value": "dev"}]
    arn = sfn.create_state_machine(
        name="tagged", definition=json.dumps(WAIT), roleArn="r", tags=tags
    )["stateMachineArn"]
    listed = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert listed == sorted(tags, key=lambda t: t["key"])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "prod"}, {"key": "x"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team", "never-there"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "stage", "value": "prod"},
        {"key": "x", "value": ""},
    ]
    too_many = [{"key": f"k{i}", "value": "v"} for i in range(49)]
    with pytest.raises(ClientError) as error:
        sfn.tag_resource(resourceArn=arn, tags=too_many)  # 51 with the two it has
    assert code(error) == "TooManyTags"
    with pytest.raises(ClientError) as error:
        sfn.tag_resource(resourceArn=arn, tags=[*too_many, *too_many[:2]])  # 51 at once
    assert code(error) == "TooManyTags"
    with pytest.raises(ClientError) as error:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "aws:owner", "value": "me"}])
    assert code(error) == "ValidationException" and "aws:" in str(error.value)
    with pytest.raises(ClientError) as error:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "k" * 129, "value": "v"}])
    assert code(error) == "ValidationException"
    for bad in ({"key": "cost#center", "value": "1"}, {"key": "owner", "value": "team;x"}):
        with pytest.raises(ClientError) as error:
            sfn.tag_resource(resourceArn=arn, tags=[bad])
        assert code(error) == "ValidationException" and "at 4" in str(error.value), bad
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "équipe ml", "value": "a.b:c/d=e+f-g@h_1"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["équipe ml"])
    missing = arn.replace(":tagged", ":nobody")
    with pytest.raises(ClientError) as error:
        sfn.list_tags_for_resource(resourceArn=missing)
    assert code(error) == "ResourceNotFound"
    # the native API names them by the machine's name
    url, services = live
    native = f"{url}/api/v1/pipelines/tagged/tags"
    assert httpx.get(native).json() == {"stage": "prod", "x": ""}
    assert httpx.patch(native, json={"tags": {"team": "ml"}}).status_code == 204
    assert httpx.delete(native, params={"key": ["x", "stage"]}).status_code == 204
    assert httpx.get(native).json() == {"team": "ml"}
    refused = httpx.patch(native, json={"tags": {"aws:x": "1"}})
    assert refused.status_code == 400 and "aws:" in refused.text
    # every change is in the event log, with who made it
    seen = [e.type for e in services.events.scan(after=0, limit=100)[0]]
    assert "pipeline.state_machine.tagged" in seen and "pipeline.state_machine.untagged" in seen


@pytest.fixture
def real_sfn(tmp_path: Path) -> Iterator[Any]:
    """boto3's client against a server on the real core (its rules warn as well as refuse)."""
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(tmp_path)]))
    with served(made) as url:
        client = stepfunctions(url)
        yield client
        client.close()
    made.close()


def test_validation_answers_errors_unless_warnings_are_asked_for(real_sfn: Any) -> None:
    sfn = real_sfn
    # two errors (a missing target, an unreachable state) and a warning (a path used as text)
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"x": "$.input"}, "Next": "Nowhere"},
            "B": {"Type": "Succeed"},
        },
    }
    text = json.dumps(definition)
    errors = sfn.validate_state_machine_definition(definition=text)
    assert errors["result"] == "FAIL" and errors["truncated"] is False
    assert {d["severity"] for d in errors["diagnostics"]} == {"ERROR"}
    every = sfn.validate_state_machine_definition(definition=text, severity="WARNING")
    assert [d["severity"] for d in every["diagnostics"]].count("WARNING") == 1
    assert len(every["diagnostics"]) == len(errors["diagnostics"]) + 1
    one = sfn.validate_state_machine_definition(definition=text, maxResults=1)
    assert len(one["diagnostics"]) == 1 and one["truncated"] is True
    assert one["result"] == "FAIL"
    warned = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"x": "$.i"}, "End": True}},
    }
    quiet = sfn.validate_state_machine_definition(definition=json.dumps(warned))
    assert (quiet["result"], quiet["diagnostics"]) == ("OK", [])
    with pytest.raises(ClientError) as error:
        sfn.validate_state_machine_definition(definition=text, severity="INFO")
    assert code(error) == "ValidationException"


def test_a_scheduled_task_names_its_region(real_sfn: Any) -> None:
    # AWS's model requires TaskScheduledEventDetails.region (1 character at least)
    arn = real_sfn.create_state_machine(name="ask", definition=json.dumps(ASK), roleArn="r")[
        "stateMachineArn"
    ]
    execution = real_sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    events = real_sfn.get_execution_history(executionArn=execution)["events"]
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    details = scheduled["taskScheduledEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("sns", "publish.waitForTaskToken")
    assert details["region"] == "us-east-1"
    bare = real_sfn.get_execution_history(executionArn=execution, includeExecutionData=False)
    scheduled = next(e for e in bare["events"] if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["region"] == "us-east-1"


def test_synchronous_executions_waiting_hold_no_thread_of_the_pool(real_sfn: Any) -> None:
    # more StartSyncExecutions waiting at once than the server's thread pool has threads
    # (anyio's 40): the server still answers everything else, and each wait ends with its
    # execution
    from concurrent.futures import ThreadPoolExecutor

    from tests.server.notifications._receiver import until

    url = real_sfn.meta.endpoint_url
    arn = real_sfn.create_state_machine(
        name="slow", definition=json.dumps(WAIT), roleArn="r", type="EXPRESS"
    )["stateMachineArn"]
    waiting = 48
    clients = [stepfunctions(url, read_timeout=30) for _ in range(waiting)]
    quick = stepfunctions(url, read_timeout=10)

    def running() -> list[str]:
        found = quick.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=100)
        arns = [e["executionArn"] for e in found["executions"]]
        return arns if len(arns) == waiting else []

    with ThreadPoolExecutor(waiting) as pool:
        answers = [
            pool.submit(c.start_sync_execution, stateMachineArn=arn, input="{}") for c in clients
        ]
        try:
            executions = until(running, 20, "every synchronous execution running")
            assert quick.describe_state_machine(stateMachineArn=arn)["name"] == "slow"
        finally:
            for execution in quick.list_executions(stateMachineArn=arn, maxResults=100)[
                "executions"
            ]:
                quick.stop_execution(executionArn=execution["executionArn"])
        ended = [answer.result() for answer in answers]
    assert sorted(e["executionArn"] for e in ended) == sorted(executions)
    assert {e["status"] for e in ended} == {"ABORTED"}


def test_an_express_machine_waits_for_no_job_or_callback(real_sfn: Any) -> None:
    # as AWS: .sync and .waitForTaskToken are refused in an EXPRESS machine, wherever the Task
    with pytest.raises(ClientError) as error:
        real_sfn.create_state_machine(
            name="quick", definition=json.dumps(ASK), roleArn="r", type="EXPRESS"
        )
    assert code(error) == "InvalidDefinition"
    said = error.value.response["Error"]["Message"]
    assert "/States/Ask/Resource" in said and "'.waitForTaskToken'" in said, said
    checked = real_sfn.validate_state_machine_definition(definition=json.dumps(ASK), type="EXPRESS")
    assert checked["result"] == "FAIL"
    assert [d["location"] for d in checked["diagnostics"]] == ["/States/Ask/Resource"]
    assert real_sfn.validate_state_machine_definition(definition=json.dumps(ASK))["result"] == "OK"
    arn = real_sfn.create_state_machine(
        name="quick", definition=json.dumps(WAIT), roleArn="r", type="EXPRESS"
    )["stateMachineArn"]
    nested = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Ask", "States": ASK["States"]},
                "End": True,
            }
        },
    }
    with pytest.raises(ClientError) as error:
        real_sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(nested))
    assert code(error) == "InvalidDefinition"
    assert (
        "/States/Each/ItemProcessor/States/Ask/Resource" in error.value.response["Error"]["Message"]
    )
    # a STANDARD machine waits for them as before
    real_sfn.create_state_machine(name="asks", definition=json.dumps(nested), roleArn="r")


@pytest.mark.parametrize(
    ("size", "token", "next_key"),
    [
        ("max_results", "page_token", "next_page_token"),  # as every native list pages
        ("limit", "next_token", "next_token"),  # as these lists paged before, still read
    ],
)
def test_the_native_pipelines_list_pages_as_every_list_does(
    live: tuple[str, Services], sfn: Any, size: str, token: str, next_key: str
) -> None:
    url, _ = live
    for name in ("p1", "p2", "p3"):
        sfn.create_state_machine(name=name, definition=json.dumps(WAIT), roleArn="r")
    pages: list[list[str]] = []
    params: dict[str, Any] = {size: 2}
    for _ in range(5):
        page = httpx.get(f"{url}/api/v1/pipelines", params=params).json()
        pages.append([m["name"] for m in page["state_machines"]])
        if not page.get(next_key):
            break
        params = {size: 2, token: page[next_key]}
    assert pages == [["p1", "p2"], ["p3"]]
