"""Background jobs: long work in a worker thread that reports progress and can be cancelled.

Streamlit reruns the page script on every click, which would kill a long loop, so slow
work runs here instead. The registry is process-wide: a job survives page switches, reloads
and other browser tabs. Workers never touch Streamlit; the UI polls ``Job`` objects.

Example::

    def count(ctx: JobContext) -> int:
        for i in range(10):
            ctx.check_cancelled()
            ctx.progress((i + 1) / 10, f"step {i + 1}")
            ctx.metric(step=i, loss=1 / (i + 1))
        return 42

    job = REGISTRY.submit("Count to ten", count, kind="demo")
    job.wait(5); job.result  # 42
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.device import trim_heap
from core.errors import UserError
from core.scheduler import HEAVY, INTERACTIVE, SCHEDULER, Scheduler

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class Cancelled(Exception):
    """Raised inside a worker by ``check_cancelled`` once the user pressed Cancel."""


@dataclass
class Job:
    title: str
    kind: str
    key: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = QUEUED
    progress: float = 0.0
    message: str = ""
    metrics: list[dict] = field(default_factory=list)
    log: deque = field(default_factory=lambda: deque(maxlen=200))
    result: Any = None
    partial: Any = None  # what the worker has so far (e.g. the text generated until now), for live display
    error: str | None = None
    owner: str | None = None  # the browser session that started it: other sessions see only that it exists
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def heavy(self) -> bool:
        return self.kind in HEAVY

    def seconds_left(self) -> float | None:
        """A guess from the progress so far, for the jobs waiting behind this one."""
        if self.started is None or self.progress <= 0.02:
            return None
        spent = time.time() - self.started
        return spent * (1 - self.progress) / self.progress

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds pass); True when it ended."""
        return self._done.wait(timeout)


class JobContext:
    """What a worker gets: progress, metrics and log reporting, and the cancel flag.

    Looking at the cancel flag is also a heavy job's checkpoint: while interactive work runs
    (core.scheduler) it waits there, so every loop that honours Cancel also gives way."""

    def __init__(self, job: Job, scheduler: Scheduler = SCHEDULER):
        self._job = job
        self._scheduler = scheduler if job.heavy else None

    def _checkpoint(self) -> None:
        if self._scheduler is None or not self._scheduler.busy:
            return
        job, before = self._job, self._job.message
        job.message = "Paused while someone waits on a generation or an attention pass…"
        self._scheduler.pause_while_busy(job._cancel.is_set)
        if job.message.startswith("Paused while"):
            job.message = before

    def progress(self, fraction: float, message: str | None = None) -> None:
        self._job.progress = min(1.0, max(0.0, float(fraction)))
        if message is not None:
            self._job.message = message

    def metric(self, **values: float) -> None:
        self._job.metrics.append(values)

    def log(self, message: str) -> None:
        self._job.log.append(message)

    def partial(self, value: Any) -> None:
        self._job.partial = value

    @property
    def cancelled(self) -> bool:
        self._checkpoint()
        return self._job.cancel_requested

    def check_cancelled(self) -> None:
        self._checkpoint()
        if self._job.cancel_requested:
            raise Cancelled()


@runtime_checkable
class Progress(Protocol):
    """What long work reports to: a ``JobContext`` in a job, a ``SubProgress`` for one stage of it,
    ``NoJob`` outside any job. Core functions take ``ctx: Progress | None``."""

    def progress(self, fraction: float, message: str | None = None) -> None: ...

    def metric(self, **values: float) -> None: ...

    def log(self, message: str) -> None: ...

    def partial(self, value: Any) -> None: ...

    @property
    def cancelled(self) -> bool: ...

    def check_cancelled(self) -> None: ...


class NoJob:
    """Stands in for a JobContext when work runs outside a job (tests, scripts, benchmarks)."""

    def progress(self, fraction: float, message: str | None = None) -> None: ...

    def metric(self, **values: float) -> None: ...

    def log(self, message: str) -> None: ...

    def partial(self, value: Any) -> None: ...

    cancelled = False

    def check_cancelled(self) -> None: ...


class SubProgress:
    """A ctx for one step of a job: maps the step's progress 0..1 onto ``[lo, hi]`` of the job's bar."""

    def __init__(self, ctx, lo: float, hi: float):
        self._ctx, self._lo, self._hi = ctx, lo, hi

    def progress(self, fraction: float, message: str | None = None) -> None:
        self._ctx.progress(self._lo + (self._hi - self._lo) * fraction, message)

    def metric(self, **values: float) -> None:
        self._ctx.metric(**values)

    def log(self, message: str) -> None:
        self._ctx.log(message)

    def partial(self, value: Any) -> None:
        self._ctx.partial(value)

    @property
    def cancelled(self) -> bool:
        return bool(getattr(self._ctx, "cancelled", False))

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()


class JobRegistry:
    """All jobs of this process. ``submit`` with a ``key`` returns the running job for that
    key instead of starting the same work twice (two tabs pressing the same button)."""

    def __init__(self, keep_finished: int = 50, scheduler: Scheduler = SCHEDULER):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep_finished
        self.scheduler = scheduler

    def submit(self, title: str, fn: Callable[[JobContext], Any], *, kind: str, key: str | None = None,
               owner: str | None = None) -> Job:
        with self._lock:
            if key is not None:
                for job in self._jobs.values():
                    if job.key == key and not job.is_finished:
                        return job
            job = Job(title=title, kind=kind, key=key, owner=owner)
            self._jobs[job.id] = job
            self._trim()
        threading.Thread(target=self._run, args=(job, fn), name=f"job-{job.id}", daemon=True).start()
        return job

    # Reads take the lock too: a submit trimming the dict while another session iterates it would
    # raise "dictionary changed size during iteration" in that session's page.
    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def active(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.is_finished]

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def place(self, job: Job) -> int | None:
        """Its place in the heavy-job line (1 = next), None when it is not waiting."""
        return self.scheduler.place(job.id)

    def ahead(self, job: Job) -> list[Job]:
        """The heavy jobs running now, which a waiting job is behind."""
        return [j for j in (self.get(i) for i in self.scheduler.running()) if j is not None]

    def _trim(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.is_finished), key=lambda j: j.created)
        for job in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[job.id]

    def _run(self, job: Job, fn: Callable[[JobContext], Any]) -> None:
        ctx = JobContext(job, self.scheduler)
        took_turn = False
        try:
            if job.heavy:
                took_turn = self.scheduler.wait_turn(job.id, job._cancel.is_set)
                if not took_turn:
                    raise Cancelled()
            job.status, job.started = RUNNING, time.time()
            ctx.check_cancelled()
            with self.scheduler.interactive() if job.kind in INTERACTIVE else nullcontext():
                job.result = fn(ctx)
            job.progress, job.status = 1.0, DONE
        except Cancelled:
            job.status, job.message = CANCELLED, "Cancelled."
        except UserError as exc:
            job.error, job.status = str(exc), FAILED
        except MemoryError:
            job.error = "The job ran out of memory. Try a smaller input or free memory, then run it again."
            job.status = FAILED
        except Exception as exc:  # a bug: keep the app serving, tell the user, log the trace
            log.exception("job %s (%s) failed", job.id, job.title)
            job.log.append(traceback.format_exc(limit=5))
            job.error = f"Unexpected error ({type(exc).__name__}): {exc}"
            job.status = FAILED
        finally:
            if took_turn:
                self.scheduler.done(job.id)
                gc.collect()  # a heavy job's model, matrices and arrays: back to the system, not kept by malloc
                trim_heap()
            job.finished = time.time()
            job._done.set()


REGISTRY = JobRegistry()
