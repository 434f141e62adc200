"""The AWS emulator: moto in server mode on a loopback port, reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
import socket
import urllib.request

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
        self._server.start()
        return self

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
