"""Load from a separate process: wrk at a fixed concurrency, one JSON summary per run."""

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


@dataclass
class Run:
    requests: int
    seconds: float
    errors: int  # socket errors other than connection closes, and non-2xx/3xx answers
    non_2xx: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _script(name: str) -> str:
    """The named script with the common ``done`` appended (wrk takes one file)."""
    text = (LUA / f"{name}.lua").read_text() + "\n" + (LUA / "report.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=f"-{name}.lua", delete=False, prefix="zz-bench-") as handle:
        handle.write(text)
    return handle.name


def wrk(
    base_url: str,
    script: str,
    args: list[str],
    *,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    timeout: float = 10,
) -> Run:
    """One wrk run; ``script`` is a file name in bench/lua without ``.lua``."""
    path = _script(script)
    try:
        command = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout}s",
            "-s",
            path,
            base_url,
            "--",
            *args,
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(path).unlink(missing_ok=True)
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    # gunicorn's sync workers close every connection; wrk counts some of those closes as read errors.
    errors = data["connect"] + data["write"] + data["timeout"] + data["status"]
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        non_2xx=data["status"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
