"""Processes the bench starts and stops: gunicorn (the app, the bare route) and the payment sandbox."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Ports given to this bench (127.0.0.1 only).
APP_PORT, BARE_PORT, SANDBOX_APP_PORT, SANDBOX_PORT = 5160, 5161, 5162, 5163
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


class Server:
    """One child process, started with ``start`` and stopped (SIGTERM, then SIGKILL) with ``stop``."""

    def __init__(self, name: str, command: list[str], env: dict, port: int, ready_path: str):
        self.name, self.command, self.env, self.port, self.ready_path = name, command, env, port, ready_path
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "bench" / "results" / f"{name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port}: see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the master's children."""
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        metrics = self.env.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics and Path(metrics).name.startswith("zz-bench-metrics-"):
            shutil.rmtree(metrics, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def gunicorn(name: str, app: str, port: int, env: dict, ready_path: str, *extra: str) -> Server:
    """``app`` served as production serves it: the production ``gunicorn.conf.py`` (gthread workers,
    threads, JSON access log, Prometheus multiprocess, preloading, recycling), with only the bind and
    the worker count set, through the variables that file reads (``GUNICORN_BIND``, ``WEB_CONCURRENCY``).
    ``extra`` is for a figure that needs something else (the RSS one: workers that are not recycled).
    """
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        # Each server its own metrics directory, as each production instance has.
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix=f"zz-bench-metrics-{name}-"),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), *extra, app]
    return Server(name, command, env, port, ready_path)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
