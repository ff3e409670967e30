"""A throttled CloudWatch Logs read is retried, not fatal; throttling that never ends is a clear
error. The requests go over HTTP to a shim in front of the moto server that answers the first
few ``FilterLogEvents`` with AWS's throttling error."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from bedrock_finops.sources.aws_clients import AWS_ATTEMPTS
from bedrock_finops.sources.cloudwatch_logs import iter_cloudwatch
from bedrock_finops.sources.source_errors import SourceError

pytestmark = pytest.mark.aws
GROUP = "/aws/bedrock/throttled"


@pytest.fixture
def throttling(aws_client, monkeypatch):
    """(endpoint, state): state["throttle"] requests are refused, counted in state["refused"]."""
    from botocore.retries.standard import ExponentialBackoff
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # no waits
    logs = aws_client("logs")
    recent = int(time.time() * 1000) - 3_600_000  # AWS (and moto) refuse events 14 days old
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": recent + i, "message": f"m{i}"} for i in range(5)],
    )
    app = DomainDispatcherApplication(create_backend_app)  # the same backends as the server
    state = {"throttle": 0, "refused": 0}

    def shim(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith("FilterLogEvents") and state["throttle"]:
            state["throttle"] -= 1
            state["refused"] += 1
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            start_response(
                "400 Bad Request",
                [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body.encode()]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, shim, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()


def _messages(endpoint: str) -> list[str]:
    units = iter_cloudwatch(f"cloudwatch-logs://{GROUP}", None, None, endpoint_url=endpoint)
    return [line for unit in units for line in unit.lines]


def test_throttled_requests_are_retried(throttling, monkeypatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    endpoint, state = throttling
    state["throttle"] = 7  # more than botocore's defaults survive (3 attempts, 5 in legacy mode)
    assert _messages(endpoint) == [f"m{i}" for i in range(5)]
    assert state["refused"] == 7


def _attempts_until_giving_up(throttling) -> int:
    """Requests made against endless throttling before the read gives up with a clear error."""
    endpoint, state = throttling
    state["throttle"] = 1000
    with pytest.raises(SourceError, match="still throttled after every retry.*5 requests a"):
        _messages(endpoint)
    return state["refused"]


def test_endless_throttling_is_a_clear_error(throttling, monkeypatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    assert _attempts_until_giving_up(throttling) == AWS_ATTEMPTS


def test_the_users_own_retry_settings_win(throttling, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert _attempts_until_giving_up(throttling) == 2


def test_retry_settings_in_the_aws_config_file_win(throttling, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\nmax_attempts = 4\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the fixture's was made before
    assert _attempts_until_giving_up(throttling) == 4


def test_a_named_profiles_retry_mode_wins(throttling, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\n[profile finops]\nretry_mode = standard\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "finops")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the fixture's was made before
    # standard mode's own default of 3 attempts, not this toolkit's 10
    assert _attempts_until_giving_up(throttling) == 3
