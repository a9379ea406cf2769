"""Load test of `deepfake-analyzer serve`: concurrent uploads, then a SIGKILL and restart.

Wave 1 sends N concurrent uploads of the sample clip and waits for all of them; every job
must end `done` with the verdict the CLI gives for the same clip. Wave 2 sends N more, kills
the server with SIGKILL while they are being analyzed, restarts it on the same data folder
and checks that no accepted job is lost: each ends `done` with the same verdict. Prints the
figures (upload latency, throughput, queue wait, recovery time, memory).

    python benchmarks/service_load.py                 # the shipped model (when installed)
    python benchmarks/service_load.py --model m.keras
    python benchmarks/service_load.py --classifier-factory \\
        deepfake_analyzer.models.fake_classifier:FakeClassifier   # no model needed

With a classifier factory the expected verdict comes from the library call the CLI makes
(`deepfake_analyzer.pipeline.analyze`), since the CLI cannot load a factory. Not a timed test:
run it by hand; it takes a few minutes on 2 cores with the real model.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT / "sample_media" / "real_pan_zoom.mp4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`deepfake-analyzer serve` in a subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, extra: list[str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop/kill
        command = [sys.executable, "-m", "deepfake_analyzer", "serve", "--data-dir", str(data_dir)]
        command += ["--port", str(self.port), "--log-level", "warning", *extra]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def wait_ready(self, timeout_s: float = 300) -> float:
        """Seconds from start until a worker has its models loaded."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see its log")
            try:
                health = self.client.get("/api/v1/health").json()
                if health.get("status") == "error":
                    raise SystemExit(f"server cannot start its workers: {health['message']}")
                if health.get("workers_ready", 0) >= 1:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("server not ready in time")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def rss_mb(self) -> float:
        """Resident memory of the server and its workers together, in MB."""
        total = 0
        for pid in [self.process.pid, *self.children()]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total / 1024

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.client.close()
        self.log.close()

    def stop(self) -> None:
        self.client.close()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def expected_verdict(clip: Path, model: str | None, factory: str | None) -> tuple[str, str]:
    """(label, how it was obtained): the CLI's verdict, or the library's with a factory."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if factory is None:
        command = [sys.executable, "-m", "deepfake_analyzer", "analyze", str(clip), "--json"]
        command += ["--quiet", "--no-reports"] + (["--model", model] if model else [])
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode not in (0, 3):
            raise SystemExit(f"the CLI failed ({result.returncode}): {result.stderr.strip()}")
        return json.loads(result.stdout)["verdict"]["label"], "deepfake-analyzer analyze"
    module, _, name = factory.partition(":")
    code = (
        f"from {module} import {name} as f; from deepfake_analyzer.pipeline import analyze; "
        f"print(analyze({str(clip)!r}, classifier=f()).verdict.label)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip().splitlines()[-1], "pipeline.analyze (factory classifier)"


def upload(client: httpx.Client, clip: Path) -> tuple[str, float]:
    started = time.perf_counter()
    with clip.open("rb") as handle:
        response = client.post("/api/v1/analyses", files={"file": (clip.name, handle)})
    if response.status_code != 202:
        raise SystemExit(f"upload refused: {response.status_code} {response.text}")
    return response.json()["id"], time.perf_counter() - started


def upload_wave(server: Server, clip: Path, count: int) -> tuple[list[str], list[float]]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(lambda _: upload(server.client, clip), range(count)))
    return [job_id for job_id, _ in results], [seconds for _, seconds in results]


def wait_all(server: Server, ids: list[str], timeout_s: float, sample: list[float]) -> list[dict]:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        sample.append(server.rss_mb())
        jobs = [server.client.get(f"/api/v1/analyses/{i}").json() for i in ids]
        if all(job.get("status") in ("done", "failed") for job in jobs):
            return jobs
        time.sleep(0.5)
    raise SystemExit("jobs did not finish in time")


def db_statuses(data_dir: Path) -> dict[str, str]:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return dict(db.execute("SELECT id, status FROM jobs").fetchall())


def seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return float("nan")
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--uploads", type=int, default=16, help="uploads per wave")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--classifier-factory", default=None, metavar="MODULE:CALLABLE")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per wave")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the data here")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="service-load-")) / "data"
    log_path = data_dir.parent / "server.log"
    extra = ["--workers", str(args.workers), "--keep", str(4 * args.uploads)]
    if args.model:
        extra += ["--model", args.model]
    if args.classifier_factory:
        extra += ["--classifier-factory", args.classifier_factory]
    checks: list[tuple[str, bool]] = []

    label, source = expected_verdict(args.clip, args.model, args.classifier_factory)
    print(
        f"clip {args.clip.name} ({args.clip.stat().st_size / 1e6:.2f} MB); expected verdict "
        f"{label!r} from {source}; {args.workers} workers; data in {data_dir}"
    )

    server = Server(data_dir, extra, log_path)
    ready_s = server.wait_ready()
    rss: list[float] = []

    started = time.perf_counter()
    wave1, latencies1 = upload_wave(server, args.clip, args.uploads)
    uploaded_s = time.perf_counter() - started
    jobs1 = wait_all(server, wave1, args.timeout, rss)
    wave1_s = time.perf_counter() - started
    checks.append((f"wave 1: all {args.uploads} done", all(j["status"] == "done" for j in jobs1)))
    checks.append(
        (f"wave 1: every verdict is {label!r}", all(j["verdict"]["label"] == label for j in jobs1))
    )
    run_s = [seconds_between(j["started_utc"], j["finished_utc"]) for j in jobs1]
    wait_s = [seconds_between(j["created_utc"], j["started_utc"]) for j in jobs1]

    wave2, latencies2 = upload_wave(server, args.clip, args.uploads)
    while True:  # kill in the middle: some done, some running, some queued
        statuses = [server.client.get(f"/api/v1/analyses/{i}").json()["status"] for i in wave2]
        if statuses.count("done") >= args.uploads // 4:
            break
        time.sleep(0.1)
    workers = server.children()
    server.kill()
    at_kill = db_statuses(data_dir)
    at_kill_counts = {s: sum(at_kill[i] == s for i in wave2) for s in ("done", "running", "queued")}
    time.sleep(1.5)
    orphans = [
        pid
        for pid in workers
        if Path(f"/proc/{pid}").exists()
        and "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    ]
    checks.append(("workers exit when their server is SIGKILLed", not orphans))

    restarted = time.perf_counter()
    server = Server(data_dir, extra, log_path)
    recovery_ready_s = server.wait_ready()
    jobs2 = wait_all(server, wave2, args.timeout, rss)
    recovery_s = time.perf_counter() - restarted
    everything = [server.client.get(f"/api/v1/analyses/{i}").json() for i in wave1 + wave2]
    server.stop()

    checks.append(
        ("no job lost: all accepted jobs still there", all("id" in j for j in everything))
    )
    checks.append(
        (
            f"wave 2: all {args.uploads} done after the restart",
            all(j["status"] == "done" for j in jobs2),
        )
    )
    checks.append(
        (
            f"wave 2: every verdict is {label!r}",
            all((j.get("verdict") or {}).get("label") == label for j in jobs2),
        )
    )
    rerun = sum(1 for j in jobs2 if j["attempts"] > 1)
    checks.append(("jobs running at the kill were re-run", rerun >= at_kill_counts["running"]))

    all_latencies = latencies1 + latencies2
    print()
    print("figure                                         value")
    print(f"server start until a worker is ready            {ready_s:6.1f} s")
    print(
        f"upload latency (202), p50 / p95 / max           {pct(all_latencies, 0.5):6.2f} / "
        f"{pct(all_latencies, 0.95):.2f} / {max(all_latencies):.2f} s"
    )
    print(f"wave 1: {args.uploads} concurrent uploads accepted in      {uploaded_s:6.2f} s")
    print(
        f"wave 1: all {args.uploads} analyses done after             {wave1_s:6.1f} s "
        f"({60 * args.uploads / wave1_s:.1f} clips/min)"
    )
    print(
        f"wave 1: analysis time per job, median / max     {statistics.median(run_s):6.2f} / "
        f"{max(run_s):.2f} s"
    )
    print(
        f"wave 1: queue wait, median / max                {statistics.median(wait_s):6.1f} / "
        f"{max(wait_s):.1f} s"
    )
    print(
        f"wave 2 at SIGKILL: done / running / queued      {at_kill_counts['done']} / "
        f"{at_kill_counts['running']} / {at_kill_counts['queued']}"
    )
    print(f"restart until a worker is ready                 {recovery_ready_s:6.1f} s")
    print(f"restart until all wave-2 jobs done              {recovery_s:6.1f} s")
    print(f"wave 2 jobs re-run after the kill               {rerun}")
    print(f"peak RSS, server + workers                      {max(rss):6.0f} MB")
    print()
    for name, ok in checks:
        print(f"[{'ok' if ok else 'FAIL'}] {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
