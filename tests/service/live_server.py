"""Run `deepfake-analyzer serve` in a subprocess on a free loopback port, for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

FAKE_CLASSIFIER = "deepfake_analyzer.models.fake_classifier:FakeClassifier"
SLOW_DETECTOR = "service_fakes:slow"
FAST_DETECTOR = "service_fakes:fast"
CRASHING_DETECTOR = "service_fakes:crashing"
COUNTING_CLASSIFIER = "service_fakes:counting_classifier"
TOKEN = "s3cret-token"
"""The token of the `token_server` fixture."""
HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
READY_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process; `client` talks to it, `stop`/`kill` end it."""

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        token: str | None = None,
        env: dict[str, str] | None = None,
        fake_classifier: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        command = [
            sys.executable, "-m", "deepfake_analyzer", "serve",
            "--data-dir", str(data_dir), "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        if fake_classifier:
            command += ["--classifier-factory", FAKE_CLASSIFIER]
        command += list(args)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(SRC), str(HERE), environment.get("PYTHONPATH", "")]
        )
        environment.update(env or {})
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop/kill
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Wait until a worker has loaded its models; returns the health body."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                response = self.client.get("/api/v1/health")
                if response.status_code == 200 and response.json()["workers_ready"] >= 1:
                    return response.json()
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready after {timeout_s} s:\n{self.log()}")

    def children(self) -> list[int]:
        """Process ids of the server's direct children (its workers)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def upload(self, path: Path, name: str | None = None, **fields: Any) -> httpx.Response:
        with path.open("rb") as handle:
            return self.client.post(
                "/api/v1/analyses",
                files={"file": (name or path.name, handle)},
                data={k: str(v) for k, v in fields.items()},
            )

    def wait_finished(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self.client.get(f"/api/v1/analyses/{job_id}").json()
            if body["status"] in ("done", "failed"):
                return body
            time.sleep(0.1)
        raise TimeoutError(f"job {job_id} not finished after {timeout_s} s:\n{self.log()}")

    def stop(self) -> None:
        self.client.close()  # no idle keep-alive connection to wait for
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        self.client.close()
        self._log.close()


def process_gone(pid: int) -> bool:
    """True when `pid` has exited (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status


def wait_gone(pids: list[int], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(process_gone(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False
