"""The AWS emulator: moto in server mode on a loopback port, reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from dataclasses import dataclass

LOCAL_REGION = "ap-south-1"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        self.host = host
        self.port = port
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        from moto.server import ThreadedMotoServer

        from local import moto_fixes

        moto_fixes.apply()

        if not port_is_free(self.host, self.port):
            raise SystemExit(f"port {self.port} on {self.host} is taken — is another `make run` up? "
                             "Stop it, or set PRACHAR_EMULATOR_PORT.")
        # werkzeug logs every request at INFO; the activity log is what users want to read.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        with moto_fixes.connections_kept_alive():
            self._server.start()
        return self

    def peek_queue(self, queue_url: str, region: str = LOCAL_REGION) -> QueueState | None:
        """What a queue of this emulator holds, read in this process without a request (see QueueState)."""
        return peek_queue(queue_url, region) if self._server is not None else None

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def emulator_environment(url: str) -> dict[str, str]:
    """What boto3 needs to talk to the emulator (dummy credentials: moto accepts any)."""
    return {"AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": LOCAL_REGION, "AWS_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class QueueState:
    """A queue as ReceiveMessage would find it now: how many messages it would hand out (`visible`), how many wait —
    in flight, or back off a retry's delay (`waiting`) — and in how many seconds the first of those is handed out
    again (None when none waits)."""

    visible: int
    waiting: int
    next_visible_in: float | None

    @property
    def empty(self) -> bool:
        return not self.visible and not self.waiting


def peek_queue(queue_url: str, region: str) -> QueueState | None:
    """The emulator runs in this process (moto's ThreadedMotoServer): the event pump looks at a queue's messages in
    moto's own state instead of asking over HTTP. An empty ReceiveMessage or a GetQueueAttributes costs the emulator
    about as much as a DynamoDB write (~18 ms), and the pump looks at seven queues many times a second. It answers
    what those calls would, and the pump still receives, deletes and changes visibility through SQS. None when the
    queue is not found in this process's moto (then the pump asks over HTTP)."""
    try:
        from moto.sqs.models import sqs_backends

        account, name = queue_url.rstrip("/").rsplit("/", 2)[-2:]
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            return None
        messages = list(queue._messages)  # a copy: moto's request threads change the list
        now = time.time() * 1000  # moto's unix_time_millis
        visible, waiting, soonest = 0, 0, None
        for message in messages:
            ready_at = max(float(message.visible_at or 0), float(message.delayed_until or 0))
            if ready_at < now:
                visible += 1
            else:
                waiting += 1
                soonest = ready_at if soonest is None else min(soonest, ready_at)
        return QueueState(visible, waiting, None if soonest is None else max(0.0, (soonest - now) / 1000))
    except Exception:  # another moto's layout: the pump asks over HTTP
        return None
