"""`make deploy` points every S3-triggered function at the upload-failures queue, once, whatever Lambda says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.deploy import route_upload_failures, s3_triggered_functions

QUEUE = "arn:aws:sqs:ap-south-1:210987654321:prachar-dev-upload-failures"
FUNCTION = "arn:aws:lambda:ap-south-1:210987654321:function:prachar-dev-on_content_upload"


class NotFound(Exception):
    pass


class InvalidParameter(Exception):
    pass


class FakeLambda:
    """Only what route_upload_failures calls; `refusals` puts fail as Lambda does while IAM catches up."""

    class exceptions:
        ResourceNotFoundException = NotFound
        InvalidParameterValueException = InvalidParameter

    def __init__(self, refusals: int = 0) -> None:
        self.configs: dict[str, dict[str, Any]] = {}
        self.puts = 0
        self.refusals = refusals

    def get_function_event_invoke_config(self, FunctionName: str) -> dict[str, Any]:
        if FunctionName not in self.configs:
            raise NotFound(FunctionName)
        return {"FunctionArn": f"{FunctionName}:$LATEST", **self.configs[FunctionName]}

    def put_function_event_invoke_config(self, FunctionName: str, **config: Any) -> None:
        self.puts += 1
        if self.refusals:
            self.refusals -= 1
            raise InvalidParameter("The destination ARN is invalid")  # the role may not send there yet
        self.configs[FunctionName] = {**config, "DestinationConfig": {"OnSuccess": {}, **config["DestinationConfig"]}}


def test_each_function_gets_the_queue_as_its_on_failure_destination_with_two_retries():
    client = FakeLambda()
    assert route_upload_failures(client, [FUNCTION], QUEUE) == 1
    config = client.get_function_event_invoke_config(FunctionName=FUNCTION)
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": QUEUE}
    assert config["MaximumRetryAttempts"] == 2 and config["MaximumEventAgeInSeconds"] == 21600


def test_a_second_deploy_changes_nothing():
    client = FakeLambda()
    route_upload_failures(client, [FUNCTION], QUEUE)
    assert route_upload_failures(client, [FUNCTION], QUEUE) == 0
    assert client.puts == 1


def test_a_changed_destination_is_put_again():
    client = FakeLambda()
    route_upload_failures(client, [FUNCTION], QUEUE.replace("dev", "old"))
    assert route_upload_failures(client, [FUNCTION], QUEUE) == 1
    assert client.configs[FUNCTION]["DestinationConfig"]["OnFailure"]["Destination"] == QUEUE


def test_it_waits_for_the_new_role_policy_to_be_seen_then_gives_up():
    waits: list[float] = []
    client = FakeLambda(refusals=2)
    assert route_upload_failures(client, [FUNCTION], QUEUE, sleep=waits.append) == 1
    assert waits == [2, 4]
    with pytest.raises(InvalidParameter):
        route_upload_failures(FakeLambda(refusals=99), [FUNCTION], QUEUE, sleep=lambda _: None)


def test_the_s3_triggered_functions_are_read_from_what_chalice_deployed(tmp_path):
    deployed = tmp_path / "dev.json"
    deployed.write_text(json.dumps({"schema_version": "2.0", "resources": [
        {"name": "on_content_upload", "resource_type": "lambda_function", "lambda_arn": FUNCTION},
        {"name": "on_content_upload-s3event", "resource_type": "s3_event", "bucket": "prachar-dev-content",
         "lambda_arn": FUNCTION},
        {"name": "publishing_clock", "resource_type": "lambda_function", "lambda_arn": FUNCTION + "x"},
    ]}))
    assert s3_triggered_functions(deployed) == [FUNCTION]
