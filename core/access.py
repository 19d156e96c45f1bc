"""Who may do what: the shared-session settings, the access-code check and the role rules.

Corpus Lab is private by default: it listens on 127.0.0.1 and everyone who can reach it is the
machine's own user, the *presenter*. Shared on purpose (``make share``, ``CORPUS_LAB_SHARE=1``) it
listens on every interface and asks each browser session for an access code first: the viewers'
code makes a *viewer*, who can look at everything and run light things (queries, a generation in
the queue) but cannot change the workspace; the presenter's code (or a session from the machine
itself) makes a *presenter*.

No Streamlit here: ``ui.access`` draws the sign-in and asks these rules.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from core.errors import UserError

ENV_SHARE, ENV_VIEWER, ENV_PRESENTER = "CORPUS_LAB_SHARE", "CORPUS_LAB_PASSWORD", "CORPUS_LAB_PRESENTER_PASSWORD"
PRESENTER, VIEWER = "presenter", "viewer"

# What a viewer may not do, in the words a refusal uses ("Only the presenter can …").
ACTIONS = {
    "upload": "bring corpora in",
    "delete": "delete corpora or models",
    "import": "import vectors",
    "train": "run pipelines, train models or draw new maps",
    "finetune": "fine-tune models",
    "load": "load models into memory",
    "workspace": "change the workspace",
    "report": "add to or change the report",
}
# Job kinds (core.jobs / core.scheduler) and the action each one is.
JOB_ACTIONS = {"ingest": "upload", "tokens": "train", "vectors": "train", "map": "train", "demo": "train",
               "topics": "train", "classify": "train", "analysis": "train", "finetune": "finetune", "model": "load"}

# A room of viewers must not starve the presenter: one generation at a time each, bounded in size.
VIEWER_MAX_NEW_TOKENS = 128
VIEWER_MAX_PROMPT_CHARS = 2_000
VIEWER_MAX_GENERATIONS = 1


class Forbidden(UserError):
    """A viewer asked for something only the presenter may do."""


@dataclass(frozen=True)
class Sharing:
    shared: bool
    viewer_code: str = field(default="", repr=False)  # never in a repr, a log line or a page
    presenter_code: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> Sharing:
        return cls(shared=os.environ.get(ENV_SHARE, "") == "1", viewer_code=os.environ.get(ENV_VIEWER, ""),
                   presenter_code=os.environ.get(ENV_PRESENTER, ""))

    def role_for(self, code: str) -> str | None:
        """The role an access code opens, or None. Both codes are always compared, in constant time."""
        viewer = bool(self.viewer_code) and same(code, self.viewer_code)
        presenter = bool(self.presenter_code) and same(code, self.presenter_code)
        return PRESENTER if presenter else VIEWER if viewer else None


def same(given: str, expected: str) -> bool:
    """Constant-time comparison: digests of equal length, so neither the content nor the length leaks."""
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


def new_code(words: int = 4) -> str:
    """A code to read out to a room, e.g. 'maple-3817-river-2204' (~53 bits)."""
    vocabulary = ("amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper", "kelp",
                  "lumen", "maple", "nectar", "orbit", "pebble", "quartz", "river", "sable", "tundra", "umber",
                  "violet", "willow", "yarrow", "zephyr", "cobalt", "lagoon", "meadow", "prism", "summit", "thistle")
    parts = []
    for i in range(words):
        parts.append(secrets.choice(vocabulary) if i % 2 == 0 else f"{secrets.randbelow(10_000):04d}")
    return "-".join(parts)


def is_local(ip: str | None, headers: dict[str, str] | None = None) -> bool:
    """A session from this machine itself: a loopback peer that no proxy forwarded. Behind a reverse
    proxy on the same machine every peer is loopback, so a forwarding header means "not local"."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if any(h in headers for h in ("x-forwarded-for", "forwarded", "x-real-ip")):
        return False
    try:
        return ip is not None and ipaddress.ip_address(ip.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def can(role: str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return role == PRESENTER


def require(role: str | None, action: str) -> None:
    """Raise Forbidden with the reason in plain words unless ``role`` may do ``action``."""
    if not can(role, action):
        raise Forbidden(f"Only the presenter can {ACTIONS[action]}: this is a shared session, and you are "
                        "viewing it. Queries, the map, attention and generation are yours to use.")


def require_job(role: str | None, kind: str) -> None:
    """A job of ``kind`` may start for ``role`` (light and interactive kinds always may)."""
    action = JOB_ACTIONS.get(kind)
    if action is not None:
        require(role, action)


def check_generation(role: str | None, prompts: list[str], new_tokens: list[int], running: int) -> None:
    """A viewer's generation: one at a time, a bounded prompt and length (the presenter: no limits)."""
    if role == PRESENTER:
        return
    if running >= VIEWER_MAX_GENERATIONS:
        raise Forbidden("Your generation is still running: in a shared session each viewer has one at a time.")
    if any(len(p) > VIEWER_MAX_PROMPT_CHARS for p in prompts):
        raise Forbidden(f"In a shared session a viewer's prompt is at most {VIEWER_MAX_PROMPT_CHARS:,} characters.")
    if any(n > VIEWER_MAX_NEW_TOKENS for n in new_tokens):
        raise Forbidden(f"In a shared session a viewer generates at most {VIEWER_MAX_NEW_TOKENS} new tokens at a time.")


class Throttle:
    """Slows down guessing: after ``free`` wrong codes from one client, each try waits twice as long
    as the one before (1 s, 2 s, 4 s … up to ``cap``). A right code clears the client's record."""

    def __init__(self, free: int = 3, cap: float = 60.0, clock=time.monotonic):
        self.free, self.cap, self.clock = free, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}  # client → (wrong tries, when the last one was)
        self._lock = threading.Lock()

    def delay(self, client: str) -> float:
        """Seconds this client must still wait before its next try is checked."""
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count < self.free:
            return 0.0
        wait = min(self.cap, 2.0 ** (count - self.free))
        return max(0.0, last + wait - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._failures.get(client, (0, 0.0))
            self._failures[client] = (count + 1, self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


THROTTLE = Throttle()
