"""``make share``: serve Corpus Lab on the network, on purpose, behind access codes.

Prints the network address and the two access codes once (viewers' and presenter's), then runs
``streamlit run app.py`` on every interface with ``CORPUS_LAB_SHARE=1``. Codes set beforehand in
``CORPUS_LAB_PASSWORD`` / ``CORPUS_LAB_PRESENTER_PASSWORD`` are used as they are and not printed.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.access import ENV_PRESENTER, ENV_SHARE, ENV_VIEWER, new_code  # noqa: E402


def network_address() -> str:
    """This machine's address on its network: the source address of a route out (a UDP "connect"
    sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return socket.gethostname()


def main() -> None:
    port = os.environ.get("PORT", "8501")
    env = dict(os.environ, **{ENV_SHARE: "1", "HF_HUB_OFFLINE": "1"})
    lines = [f"Corpus Lab is shared on your network: http://{network_address()}:{port}"]
    for name, who in ((ENV_VIEWER, "Viewers' access code"), (ENV_PRESENTER, "Presenter's access code")):
        if env.get(name):
            lines.append(f"{who}: the one set in {name}")
        else:
            env[name] = new_code()
            lines.append(f"{who}: {env[name]}")
    lines += [f"On this machine, http://localhost:{port} opens as the presenter without a code.",
              "Viewers can look, query and generate; only the presenter changes the workspace.",
              "Stop with Ctrl+C; `make run` serves it privately again."]
    width = max(map(len, lines))
    print("\n".join(["=" * width, *lines, "=" * width]), flush=True)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", port,
           "--server.address", "0.0.0.0"]
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
