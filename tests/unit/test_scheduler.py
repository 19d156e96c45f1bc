"""The scheduler: heavy jobs take turns in arrival order, interactive work pauses them, and shared
models are handed over first come first served."""

import threading
import time

import pytest

from core.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobRegistry
from core.scheduler import Scheduler, default_slots
from core.turns import TurnLock


def registry(slots: int = 1) -> JobRegistry:
    return JobRegistry(scheduler=Scheduler(slots=slots))


def until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def gated(started: list, gate: threading.Event, name: str, fail: bool = False):
    def work(ctx):
        started.append(name)
        gate.wait(10)
        if fail:
            raise RuntimeError("boom")
        return name
    return work


def test_slots_follow_the_cores():
    assert [default_slots(c) for c in (1, 2, 4, 8, 16)] == [1, 1, 1, 2, 4]


def test_heavy_jobs_run_one_at_a_time_in_arrival_order():
    reg, started = registry(), []
    gates = [threading.Event() for _ in range(3)]
    jobs = [reg.submit(f"train {i}", gated(started, gates[i], f"j{i}"), kind="vectors") for i in range(3)]
    until(lambda: started == ["j0"])
    assert jobs[0].status == RUNNING and jobs[1].status == QUEUED and jobs[2].status == QUEUED
    assert [reg.place(j) for j in jobs] == [None, 1, 2]
    assert reg.ahead(jobs[1]) == [jobs[0]]
    gates[2].set()  # the last one is ready to finish, but must not start before its turn
    gates[0].set()
    until(lambda: started == ["j0", "j1"])
    assert jobs[2].status == QUEUED and reg.place(jobs[2]) == 1
    gates[1].set()
    for job in jobs:
        assert job.wait(10) and job.status == DONE
    assert started == ["j0", "j1", "j2"]


def test_light_and_interactive_jobs_do_not_queue_behind_heavy_ones():
    reg, started, gate = registry(), [], threading.Event()
    heavy = reg.submit("map", gated(started, gate, "map"), kind="map")
    until(lambda: "map" in started)
    light = reg.submit("load", lambda ctx: "ok", kind="ingest")
    gen = reg.submit("gen", lambda ctx: "text", kind="generate")
    assert light.wait(5) and gen.wait(5) and light.result == "ok" and gen.result == "text"
    gate.set()
    assert heavy.wait(5) and heavy.status == DONE


def test_cancel_while_queued_never_runs_the_work_and_frees_the_line():
    reg, started = registry(), []
    first_gate, never = threading.Event(), threading.Event()
    first = reg.submit("first", gated(started, first_gate, "first"), kind="vectors")
    until(lambda: started == ["first"])
    queued = reg.submit("second", gated(started, never, "second"), kind="vectors")
    third = reg.submit("third", lambda ctx: started.append("third"), kind="vectors")
    queued.cancel()
    assert queued.wait(5) and queued.status == CANCELLED and reg.place(third) == 1
    first_gate.set()
    assert third.wait(5) and third.status == DONE
    assert started == ["first", "third"] and first.status == DONE


def test_a_failing_job_does_not_block_the_queue():
    reg, started, gate = registry(), [], threading.Event()
    bad = reg.submit("bad", gated(started, gate, "bad", fail=True), kind="finetune")
    nxt = reg.submit("next", lambda ctx: "fine", kind="finetune")
    until(lambda: started == ["bad"])
    assert nxt.status == QUEUED
    gate.set()
    assert bad.wait(5) and bad.status == FAILED and "boom" in bad.error
    assert nxt.wait(5) and nxt.result == "fine"


def test_a_heavy_job_pauses_at_its_checkpoints_while_interactive_work_runs():
    reg = registry()
    steps, generating, release = [], threading.Event(), threading.Event()

    def train(ctx):
        for i in range(100_000):
            ctx.check_cancelled()
            steps.append(i)
            time.sleep(0.001)

    def generate(ctx):
        generating.set()
        release.wait(10)
        return "text"

    heavy = reg.submit("train", train, kind="vectors")
    until(lambda: len(steps) > 5)
    gen = reg.submit("gen", generate, kind="generate")
    generating.wait(5)
    until(lambda: heavy.message.startswith("Paused"))
    paused_at = len(steps)
    time.sleep(0.3)  # room for steps that would run if the pause did not hold
    assert len(steps) == paused_at
    release.set()
    assert gen.wait(5) and gen.result == "text"
    until(lambda: len(steps) > paused_at)  # it goes on by itself
    assert not heavy.message.startswith("Paused")
    heavy.cancel()
    assert heavy.wait(5) and heavy.status == CANCELLED


def test_cancel_reaches_a_paused_job():
    sched = Scheduler(slots=1)
    reg = JobRegistry(scheduler=sched)

    def train(ctx):
        while True:
            ctx.check_cancelled()
            time.sleep(0.01)

    with sched.interactive():
        heavy = reg.submit("train", train, kind="vectors")
        until(lambda: heavy.message.startswith("Paused"))  # at the checkpoint before its first step
        heavy.cancel()
        assert heavy.wait(5) and heavy.status == CANCELLED


def test_switched_off_the_scheduler_runs_everything_at_once(monkeypatch):
    monkeypatch.setenv("CORPUS_LAB_SCHEDULER", "0")
    reg, started, gate = registry(), [], threading.Event()
    jobs = [reg.submit(f"t{i}", gated(started, gate, f"t{i}"), kind="vectors") for i in range(2)]
    until(lambda: len(started) == 2)
    gate.set()
    assert all(j.wait(5) and j.status == DONE for j in jobs)


def test_the_model_lock_serves_waiters_in_arrival_order_and_tells_each_its_place():
    lock, order, heard = TurnLock(), [], {}
    lock.acquire()
    threads = []
    for i in range(5):
        heard[i] = []
        t = threading.Thread(target=lambda i=i: (lock.acquire(on_wait=heard[i].append), order.append(i),
                                                 lock.release()))
        t.start()
        threads.append(t)
        until(lambda i=i: lock.waiting() == i + 1)  # each has taken its ticket before the next asks
    lock.release()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4]
    assert [h[0] for h in heard.values()] == [1, 2, 3, 4, 5]  # the holder plus those in line before it
    assert heard[4] == sorted(set(heard[4]), reverse=True)  # only ever closer to the front


def test_the_model_lock_is_reentrant_and_times_out():
    lock = TurnLock()
    with lock, lock:
        seen = []
        t = threading.Thread(target=lambda: seen.append(lock.acquire(timeout=0.2)))
        t.start()
        t.join(5)
        assert seen == [False] and lock.waiting() == 0
    assert lock.acquire(blocking=False)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
