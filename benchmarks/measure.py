"""Small measuring helpers shared by the benchmark's processes (no Rasa import here)."""

import json
import math
import os
import socket
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

# A child process reports to the benchmark with lines "BENCH {json}" on stdout (libraries may print other lines).
REPORT = "BENCH "


def report(**data: Any) -> None:
    """Send one report line to the parent process."""
    sys.stdout.write(REPORT + json.dumps(data) + "\n")
    sys.stdout.flush()


def parse_report(line: str) -> Optional[Dict[str, Any]]:
    return json.loads(line[len(REPORT) :]) if line.startswith(REPORT) else None


def now() -> float:
    """CLOCK_MONOTONIC: one clock for every process on the machine, so a parent can time a child's events."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def rss_mb(pid: Optional[int] = None) -> float:
    """Resident memory (VmRSS) of a process, in MB (the benchmark's own unit: 1 MB = 2**20 bytes)."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in " + path)


def children(pid: int) -> List[int]:
    """The process ids of a process's children (one level: the engine process of `signpost telegram`)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return []


def cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> Dict[str, Any]:
    """p50, p95, p99, mean and max in milliseconds, and the sample count."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env(**extra: str) -> Dict[str, str]:
    """The environment for a child process: no telemetry, no TensorFlow chatter, plus `extra`."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    env.update(extra)
    return env
