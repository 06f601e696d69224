"""What the harness self-checks share: a tiny test runner that prints
`N passed, N failed`, polling with a deadline, and a harness script run as a
subprocess that announces itself through a ready file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 5.0

# Everything these checks talk to is on loopback; never route it via a proxy.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
    filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, action: Callable[[], Any]) -> bool:
        try:
            action()
        except Exception as err:  # noqa: BLE001 - report every failure, go on
            self.failed += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
            if not isinstance(err, AssertionError):
                traceback.print_exc()
            return False
        self.passed += 1
        print(f"ok   {name}", flush=True)
        return True


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def wait_until(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll `probe` until it returns something truthy; fail naming what was
    awaited and what was seen last."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; last seen: {last!r}")


class Process:
    """A harness script as a subprocess with a ready file. In `command`,
    `{ready}` and `{stats}` stand for files in a fresh work directory."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{name}-check-"))
        self.ready_file = self.workdir / "ready.json"
        self.stats_file = self.workdir / "stats.json"
        self.log_file = self.workdir / f"{name}.log"
        self.command = [part.replace("{ready}", str(self.ready_file)).replace("{stats}", str(self.stats_file))
                        for part in command]
        self.process: subprocess.Popen | None = None
        self.stdout = ""

    def start(self) -> dict:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self.log_file.open("w"), text=True)
        wait_until("the ready file", self._ready_or_dead, READY_TIMEOUT)
        return json.loads(self.ready_file.read_text())

    def _ready_or_dead(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
        return self.ready_file.exists()

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code (kills it if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            self.stdout, _ = self.process.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError(f"{self.name} did not exit within {EXIT_TIMEOUT:.0f}s of SIGTERM")
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_file.read_text() if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
