"""A real ``streamlit run app.py`` on a free local port, for the browser tests and the UI benchmark.

Example::

    server = start(home=tmp / "workspace", log=tmp / "streamlit.log", env={"HF_HUB_OFFLINE": "1"})
    ...  # drive server.url with Playwright
    server.stop()
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    home: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(home: Path, log: Path, env: dict[str, str], timeout: float = 60, args: tuple[str, ...] = ()) -> Server:
    """Serve the app with ``CORPUS_LAB_HOME=home`` and ``env`` on top of this process's environment
    (a value of None removes a variable) and ``args`` after ``streamlit run app.py`` (e.g. another
    ``--server.address``); wait until healthy, else stop it and raise RuntimeError."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full = {**os.environ, "CORPUS_LAB_HOME": str(home), **env}
    full = {k: v for k, v in full.items() if v is not None}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", *args]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=REPO, env=full, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://localhost:{port}", process, log, home)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before it was healthy:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"streamlit was not healthy after {timeout:.0f} s:\n{server.output()}")
