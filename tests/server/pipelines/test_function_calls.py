"""Function calls forked from the warm process: the same isolation as a cold call, a cold start
when the warm process cannot fork, and a timeout that kills the call; the Lambda references
that name a function."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from dockyard.api.pipelines import CallEnded
from dockyard.errors import InvalidArgument
from dockyard.server.actor import Actor
from dockyard.server.pipelines._task_functions import INVOKE, FunctionTask
from dockyard.server.pipelines._tasks import Failed, InBackground, Succeeded, TaskCall
from dockyard.settings import Settings

WHOAMI = "tests.server.pipelines._functions:whoami"
DOUBLE = "tests.server.pipelines._functions:double"


def functions(tmp_path: Path, **update: object) -> FunctionTask:
    settings = Settings(home=tmp_path / "home", data_roots=[str(tmp_path)], **update)  # type: ignore[arg-type]
    return FunctionTask(settings)


def _call(resource: str, payload: Any) -> TaskCall:
    """A request-mode call of ``resource`` with ``payload``, as the engine makes one."""
    return TaskCall(
        key="x:1",
        execution_arn="x",
        state_name="Double",
        resource=resource,
        base=resource,
        mode="request",
        payload=payload,
        actor=Actor.local("root"),
    )


def test_calls_fork_from_one_warm_process_each_in_a_session_of_its_own(tmp_path: Path) -> None:
    task = functions(tmp_path, pipeline_functions={"who": WHOAMI}, pipeline_function_memory_mb=300)
    try:
        first = task.invoke("who", {}, "k1")
        second = task.invoke("who", {}, "k2")
    finally:
        task.close()
    assert isinstance(first, Succeeded) and isinstance(second, Succeeded)
    one, two = first.output, second.output
    assert one["ppid"] == two["ppid"] != os.getpid()  # both children of the warm process
    assert one["pid"] != two["pid"]
    assert one["sid"] == one["pid"] and two["sid"] == two["pid"]
    assert one["as_limit"] == 300 * 1024 * 1024


def test_a_module_that_starts_a_thread_is_called_cold(tmp_path: Path) -> None:
    task = functions(tmp_path, pipeline_functions={"ppid": "tests.server.pipelines._threaded:ppid"})
    try:
        answer = task.invoke("ppid", {}, "k")
    finally:
        task.close()
    assert answer == Succeeded(os.getpid())  # started by the server itself


def test_a_forked_call_past_its_timeout_is_killed(tmp_path: Path) -> None:
    task = functions(
        tmp_path,
        pipeline_functions={"block": "tests.server.pipelines._functions:block"},
        pipeline_function_timeout_s=1,
    )
    pid_file = tmp_path / "pid"
    try:
        answer = task.invoke("block", {"pid": str(pid_file)}, "k")
    finally:
        task.close()
    assert isinstance(answer, Failed) and answer.error == "States.Timeout"
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive  # killed and reaped by the warm process before the answer


def test_a_call_stopped_before_its_fork_answers_is_killed_once_forked(tmp_path: Path) -> None:
    from dockyard.server.pipelines._function_calls import WarmCalls

    warm = WarmCalls(["tests.server.pipelines._functions:block"], dict(os.environ))
    pid_file = tmp_path / "pid"
    try:
        ended = warm.call(
            "tests.server.pipelines._functions:block",
            f'{{"pid": "{pid_file}"}}'.encode(),
            {},
            512,
            60,
            lambda kill: kill(),  # the stop arrives before the warm process names the child
        )
    finally:
        warm.close()
    assert ended is not None and ended.code == -signal.SIGKILL
    if pid_file.exists() and pid_file.read_text():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def test_a_call_dies_with_a_warm_process_killed_outright(tmp_path: Path) -> None:
    from dockyard.server.pipelines._function_calls import WarmCalls

    block = "tests.server.pipelines._functions:block"
    warm = WarmCalls([block], dict(os.environ))
    pid_file = tmp_path / "pid"
    ended: list[CallEnded | None] = []
    caller = threading.Thread(
        target=lambda: ended.append(
            warm.call(block, f'{{"pid": "{pid_file}"}}'.encode(), {}, 512, 60, lambda _: None)
        )
    )
    caller.start()
    call = None
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline, "the call never started"
            time.sleep(0.05)
        call = psutil.Process(int(pid_file.read_text()))
        call.parent().kill()  # the warm process, as the OOM killer would
        caller.join(60)
        assert ended and ended[0] is not None and ended[0].code == -signal.SIGKILL
        # Answered as a crash (the task fails or is retried): it must not run on unwatched.
        _, alive = psutil.wait_procs([call], timeout=30)
        assert not alive, "the call outlived the warm process that forked it"
    finally:
        if call is not None and call.is_running():
            call.kill()
        warm.close()


@pytest.mark.parametrize(
    ("resource", "function_name"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:double:$LATEST", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:double:prod", None),
        (INVOKE, "arn:aws:lambda:us-east-1:123456789012:function:double:$LATEST"),
        (INVOKE, "123456789012:function:double:7"),
        (INVOKE, "double:prod"),
        (INVOKE, "double"),
    ],
)
def test_a_lambda_reference_with_a_version_or_alias_calls_the_function(
    tmp_path: Path, resource: str, function_name: str | None
) -> None:
    """Workflow Studio writes ``FunctionName: "arn:...:function:NAME:$LATEST"``; Lambda takes
    a name, a partial or full ARN, each with a version or alias."""
    task = functions(tmp_path, pipeline_functions={"double": DOUBLE})
    payload: dict[str, Any] = {"value": 21}
    if function_name is not None:
        payload = {"FunctionName": function_name, "Payload": payload}
    call = _call(resource, payload)
    try:
        task.check(resource, payload)
        started = task.start(call)
        assert isinstance(started, InBackground)
        answer = started.run()
    finally:
        task.close()
    assert isinstance(answer, Succeeded), answer
    result = answer.output["Payload"] if function_name is not None else answer.output
    assert result == {"value": 42}
    with pytest.raises(InvalidArgument, match="no function named 'triple'"):
        task.check(INVOKE, {"FunctionName": "arn:aws:lambda:us-east-1:1:function:triple:$LATEST"})


def test_lambda_invoke_names_its_function_or_computes_it(tmp_path: Path) -> None:
    """A FunctionName computed by JSONata (``{% ... %}``) or a path is checked when the task
    runs, as is one without Parameters (its input is the request); lambda:invoke whose
    Parameters give no FunctionName is refused when the machine is created, and
    one that computes to nothing fails its task saying so."""
    task = functions(tmp_path, pipeline_functions={"double": DOUBLE})
    try:
        task.check(INVOKE, {"FunctionName": "{% $states.input.fn %}", "Payload": "{% 1 %}"})
        task.check(INVOKE, "{% {'FunctionName': 'double'} %}")
        task.check(INVOKE, {"FunctionName.$": "$.fn"})
        task.check(INVOKE, None)  # no Parameters: the state's input is the request
        for payload in ({"Payload": {}}, {"FunctionName": None}):
            with pytest.raises(InvalidArgument, match="lambda:invoke needs a FunctionName"):
                task.check(INVOKE, payload)
        call = _call(INVOKE, {"Payload": {}})
        failed = task.start(call)
    finally:
        task.close()
    assert isinstance(failed, Failed)
    assert "needs a FunctionName" in failed.cause


def test_a_computed_function_name_nothing_registers_is_lambdas_not_found(tmp_path: Path) -> None:
    """lambda:invoke whose FunctionName, computed when it runs, names no registered function
    fails as Lambda does for a missing function (Lambda.ResourceNotFoundException, which a
    Catch written for AWS names), the cause listing what is registered."""
    task = functions(tmp_path, pipeline_functions={"double": DOUBLE})
    try:
        failed = task.start(_call(INVOKE, {"FunctionName": "triple", "Payload": {}}))
    finally:
        task.close()
    assert isinstance(failed, Failed) and failed.error == "Lambda.ResourceNotFoundException"
    assert failed.cause == "no function named 'triple' (registered: double)"
