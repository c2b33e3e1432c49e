"""SNS through boto3's own ``sns`` client (the query protocol: forms in, XML out) against a live
server: topics, webhook subscriptions that receive what is published, SNS's error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.server.compat.aws._clients import aws, code, tokens
from tests.server.notifications._receiver import Receiver, until
from tests.server.pipelines._live import served

from dockyard.server._services import Services
from dockyard.settings import Settings

ARN = "arn:aws:sns:us-east-1:000000000000:"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    made = Services.from_settings(
        Settings(
            home=tmp_path / "home",
            data_roots=[str(tmp_path)],
            scheduler=True,
            webhook_allow_private=True,
        )
    )
    with served(made) as url:
        yield url, made
    made.close()


@pytest.fixture
def sns(live: tuple[str, Services]) -> Iterator[Any]:
    client = aws("sns", live[0])
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    yield made
    made.stop()


def test_topics_subscriptions_and_publishing(sns: Any, receiver: Receiver) -> None:
    made = sns.create_topic(Name="alerts", Attributes={"DisplayName": "Model alerts"})
    arn = made["TopicArn"]
    assert arn == ARN + "alerts"
    assert sns.create_topic(Name="alerts")["TopicArn"] == arn  # SNS: the same topic again
    listed = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert arn in listed and ARN + "job" in listed  # custom topics and the built-in ones

    sub = sns.subscribe(
        TopicArn=arn,
        Protocol="http",
        Endpoint=receiver.url,
        Attributes={"FilterPolicy": json.dumps({"severity": ["high"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    # Pending, as on SNS: answered without its ARN, listed as such, sent its confirmation alone
    again = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url)
    assert again["SubscriptionArn"] == "pending confirmation"
    pending = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in pending] == ["PendingConfirmation"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (attributes["SubscriptionsPending"], attributes["SubscriptionsConfirmed"]) == ("1", "0")
    [confirmation] = until(receiver.ok, 15, "the confirmation message")
    assert confirmation.headers["x-dockyard-message-type"] == "SubscriptionConfirmation"
    token = json.loads(confirmation.body)["token"]
    with pytest.raises(ClientError) as error:
        sns.confirm_subscription(TopicArn=arn, Token=token + "x")
    assert code(error) == "NotFound" and "Token" in str(error.value)
    other = sns.create_topic(Name="other")["TopicArn"]  # the token confirms this topic's only
    with pytest.raises(ClientError) as error:
        sns.confirm_subscription(TopicArn=other, Token=token)
    assert code(error) == "NotFound" and "not subscribed to topic.other" in str(error.value)
    with pytest.raises(ClientError) as error:  # a guessed token learns nothing of it
        sns.confirm_subscription(TopicArn=other, Token=token + "x")
    assert code(error) == "NotFound" and "no subscription waits" in str(error.value)
    assert sns.confirm_subscription(TopicArn=arn, Token=token)["SubscriptionArn"] == sub
    with pytest.raises(ClientError) as error:
        sns.confirm_subscription(TopicArn=arn, Token=token)
    assert code(error) == "InvalidParameter" and "used already" in str(error.value)
    assert (
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url)["SubscriptionArn"]
        == sub
    )
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in subs] == [
        (sub, "http", receiver.url)
    ]
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]] == [sub]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Model alerts"
    assert attributes["SubscriptionsConfirmed"] == "1" and attributes["TopicArn"] == arn

    sns.publish(
        TopicArn=arn,
        Message="drift on churn",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "low"}},
    )
    sent = sns.publish(
        TopicArn=arn,
        Message="accuracy fell",
        Subject="churn model",
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": "high"},
            "score": {"DataType": "Number", "StringValue": "0.61"},
        },
    )
    assert sent["MessageId"].isdigit()
    got = until(lambda: receiver.ok()[1:], 15, "the webhook delivery")
    event = json.loads(got[0].body)["event"]
    assert event["body"]["message"] == "accuracy fell"
    assert event["body"]["attributes"] == {
        "severity": "high",
        "score": 0.61,
        "Subject": "churn model",
    }
    assert int(got[0].headers["x-dockyard-event-id"]) == int(sent["MessageId"])

    structured = json.dumps({"default": "plain text", "email": "for email"})
    sns.publish(TopicArn=arn, Message=structured, MessageStructure="json")
    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # SNS: deleting what is gone is no error
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_subscribing_to_a_built_in_topic_receives_its_events(
    sns: Any, live: tuple[str, Services], receiver: Receiver
) -> None:
    url, _ = live
    # The built-in topic "topic" carries what is published to every custom topic.
    sns.subscribe(TopicArn=ARN + "topic", Protocol="http", Endpoint=receiver.url)
    [confirmation] = until(receiver.ok, 15, "the confirmation message")
    link = urlsplit(json.loads(confirmation.body)["confirm_url"])
    followed = httpx.get(f"{url}{link.path}?{link.query}")  # on this test's own port
    assert followed.json()["state"] == "confirmed", followed.text
    news = sns.create_topic(Name="news")["TopicArn"]
    sns.publish(TopicArn=news, Message="hello")
    got = until(lambda: receiver.ok()[1:], 15, "the built-in topic's event")
    assert json.loads(got[0].body)["event"]["type"] == "topic.news"
    with pytest.raises(ClientError) as error:
        sns.publish(TopicArn=ARN + "job", Message="x")
    assert code(error) == "NotFound"
    with pytest.raises(ClientError) as error:
        sns.delete_topic(TopicArn=ARN + "job")
    assert code(error) == "InvalidParameter" and "TopicArn" in str(error.value)
    assert httpx.get(f"{url}/healthz").status_code == 200


@pytest.mark.parametrize(
    ("call", "kwargs", "expected", "status", "field"),
    [
        ("get_topic_attributes", {"TopicArn": ARN + "missing"}, "NotFound", 404, "missing"),
        ("publish", {"TopicArn": ARN + "missing", "Message": "x"}, "NotFound", 404, "missing"),
        (
            "publish",
            {"TopicArn": "not-an-arn", "Message": "x"},
            "InvalidParameter",
            400,
            "TopicArn",
        ),
        (
            "publish",
            {"TopicArn": ARN + "t", "Message": "x" * 4000},
            "InvalidParameter",
            400,
            "Message",
        ),
        (
            "publish",
            {"TopicArn": ARN + "t", "Message": "{}", "MessageStructure": "json"},
            "InvalidParameter",
            400,
            "Message",
        ),
        (
            "publish",
            {
                "TopicArn": ARN + "t",
                "Message": "x",
                "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "many"}},
            },
            "InvalidParameterValue",
            400,
            "MessageAttributes.n",
        ),
        *(
            (
                "publish",
                {
                    "TopicArn": ARN + "t",
                    "Message": "x",
                    "MessageAttributes": {"n": {"DataType": "Number", "StringValue": text}},
                },
                "InvalidParameterValue",
                400,
                "MessageAttributes.n",
            )
            # AWS takes finite decimal numbers only (Python's float() reads all of these)
            for text in ("NaN", "nan", "Infinity", "-inf", "1e999", "1_000", " 1")
        ),
        (
            "publish",
            {
                "TopicArn": ARN + "t",
                "Message": "x",
                "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x00"}},
            },
            "InvalidParameterValue",
            400,
            "MessageAttributes.b",
        ),
        *(
            ("publish", {"TopicArn": ARN + "t", "Message": "x", "Subject": subject}, *expected)
            for subject in ("s" * 100, "a\nb", "")
            for expected in [("InvalidParameter", 400, "Subject")]
        ),
        (
            "publish",
            {
                "TopicArn": ARN + "t",
                "Message": "x" * 2000,
                "MessageAttributes": {
                    "big": {"DataType": "String", "StringValue": "y" * 2500},
                },
            },
            "InvalidParameter",
            400,
            "MessageAttributes",
        ),
        (
            "publish",
            {"PhoneNumber": "+15550100", "Message": "x"},
            "InvalidParameter",
            400,
            "PhoneNumber",
        ),
        (
            "subscribe",
            {"TopicArn": ARN + "t", "Protocol": "sqs", "Endpoint": "arn:aws:sqs:x"},
            "InvalidParameter",
            400,
            "Protocol",
        ),
        (
            "subscribe",
            {"TopicArn": ARN + "t", "Protocol": "https", "Endpoint": "http://x.test"},
            "InvalidParameter",
            400,
            "Endpoint",
        ),
        (
            "subscribe",
            {
                "TopicArn": ARN + "t",
                "Protocol": "http",
                "Endpoint": "http://x.test",
                "Attributes": {"FilterPolicy": "{nope"},
            },
            "InvalidParameter",
            400,
            "FilterPolicy",
        ),
        (
            "subscribe",
            {
                "TopicArn": ARN + "t",
                "Protocol": "http",
                "Endpoint": "http://x.test",
                "Attributes": {"FilterPolicy": '{"a": "not a list"}'},
            },
            "InvalidParameter",
            400,
            "FilterPolicy",
        ),
        ("unsubscribe", {"SubscriptionArn": ARN + "t:nope"}, "NotFound", 404, "nope"),
        ("unsubscribe", {"SubscriptionArn": "nope"}, "InvalidParameter", 400, "SubscriptionArn"),
        ("create_topic", {"Name": "bad name!"}, "InvalidParameter", 400, "Name"),
        ("create_topic", {"Name": "x.fifo"}, "InvalidParameter", 400, "FifoTopic"),
        ("list_topics", {"NextToken": "zz"}, "InvalidParameter", 400, "NextToken"),
    ],
)
def test_bad_input_is_an_sns_error_naming_the_field(
    sns: Any, call: str, kwargs: dict[str, Any], expected: str, status: int, field: str
) -> None:
    sns.create_topic(Name="t")
    with pytest.raises(ClientError) as error:
        getattr(sns, call)(**kwargs)
    assert code(error) == expected
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert field in error.value.response["Error"]["Message"]


def test_unknown_actions_and_versions_answer_in_xml(live: tuple[str, Services]) -> None:
    url, _ = live
    for form in ({"Action": "Nope", "Version": "2010-03-31"}, {"Action": "X", "Version": "1"}):
        answer = httpx.post(url + "/", data=form, headers={"Authorization": "AWS4-HMAC-SHA256 x"})
        assert answer.status_code == 400, answer.text
        assert "<Code>InvalidAction</Code>" in answer.text


def test_signed_requests_carry_tokens(live: tuple[str, Services]) -> None:
    url, _ = live
    signed = tokens(url)
    anonymous, ana, bob = (aws("sns", url, t) for t in (None, signed["ana"], signed["bob"]))
    try:
        with pytest.raises(ClientError) as error:
            anonymous.list_topics()
        assert code(error) == "InvalidClientTokenId"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
        arn = ana.create_topic(Name="ops")["TopicArn"]
        ana.publish(TopicArn=arn, Message="hello")
        with pytest.raises(ClientError) as error:
            bob.subscribe(TopicArn=arn, Protocol="https", Endpoint="https://x.test/hook")
        assert code(error) == "AuthorizationError"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    finally:
        for client in (anonymous, ana, bob):
            client.close()


def test_a_topic_is_published_to_by_its_creator_or_an_admin(live: tuple[str, Services]) -> None:
    url, _ = live
    signed = tokens(url)
    ana, bob = (aws("sns", url, signed[who]) for who in ("ana", "bob"))
    try:
        ops = ana.create_topic(Name="ops")["TopicArn"]
        mine = bob.create_topic(Name="mine")["TopicArn"]
        assert bob.publish(TopicArn=mine, Message="mine")["MessageId"]
        assert ana.publish(TopicArn=mine, Message="an admin's")["MessageId"]
        with pytest.raises(ClientError) as error:
            bob.publish(TopicArn=ops, Message="spoofed")
        assert code(error) == "AuthorizationError"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "topic ops is its creator's" in error.value.response["Error"]["Message"]
    finally:
        for client in (ana, bob):
            client.close()


def test_a_message_is_measured_in_its_own_utf8_bytes(sns: Any) -> None:
    arn = sns.create_topic(Name="sizes")["TopicArn"]
    assert sns.publish(TopicArn=arn, Message="x" * 3000)["MessageId"]  # at the limit: taken
    assert sns.publish(TopicArn=arn, Message="é" * 1500)["MessageId"]  # 3000 bytes too
    with pytest.raises(ClientError) as caught:
        sns.publish(TopicArn=arn, Message="x" * 4000)
    assert "the message is 4000 bytes; at most 3000" in str(caught.value)
