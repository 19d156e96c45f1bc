import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.errors import UserError
from core.workspace import Workspace, atomic_write_text

ROOT = Path(__file__).resolve().parents[2]


def write_text(content: str):
    def write(folder: Path) -> dict:
        (folder / "data.txt").write_text(content)
        return {"chars": len(content)}

    return write


def test_ids_are_content_hashes_of_kind_parents_and_config():
    a = Workspace.artifact_id("corpus", {"x": 1, "y": [1, 2]})
    assert a == Workspace.artifact_id("corpus", {"y": [1, 2], "x": 1})  # key order does not matter
    assert a != Workspace.artifact_id("corpus", {"x": 2, "y": [1, 2]})
    assert a != Workspace.artifact_id("tokens", {"x": 1, "y": [1, 2]})
    assert a != Workspace.artifact_id("corpus", {"x": 1, "y": [1, 2]}, parents=["p"])
    assert len(a) == 16


def test_create_list_reload_and_delete(tmp_path):
    ws = Workspace(tmp_path)
    m = ws.create("corpus", "abc", name="news", config={"k": 1}, write=write_text("hello"), parents=["p1"])
    assert (m.kind, m.name, m.metrics, m.parents) == ("corpus", "news", {"chars": 5}, ["p1"])
    assert "python" in m.versions and m.created > 0
    again = Workspace(tmp_path)  # as after a restart
    assert again.manifest("corpus", "abc") == m
    assert [x.id for x in again.list("corpus")] == ["abc"]
    assert (again.path("corpus", "abc") / "data.txt").read_text() == "hello"
    again.delete("corpus", "abc")
    assert again.list("corpus") == []
    with pytest.raises(UserError, match="no corpus 'abc'"):
        again.manifest("corpus", "abc")


def test_same_id_is_not_rebuilt(tmp_path):
    ws = Workspace(tmp_path)
    ws.create("corpus", "same", name="first", write=write_text("one"))
    calls = []
    m = ws.create("corpus", "same", name="second", write=lambda d: calls.append(d))
    assert m.name == "first" and calls == []


def test_failed_write_leaves_nothing_behind(tmp_path):
    ws = Workspace(tmp_path)

    def broken(folder: Path):
        (folder / "half.txt").write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        ws.create("corpus", "bad", name="bad", write=broken)
    assert ws.list("corpus") == [] and not ws.path("corpus", "bad").exists()
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_a_write_killed_half_way_leaves_the_previous_artifact_intact(tmp_path):
    ws = Workspace(tmp_path)
    ws.create("corpus", "old", name="old", write=write_text("previous"))
    ws.set_state("active_corpus", "old")
    script = textwrap.dedent(f"""
        import time
        from core.workspace import Workspace, atomic_write_text
        ws = Workspace({str(tmp_path)!r})
        def slow(folder):
            (folder / "data.txt").write_text("half of it")
            print("writing", flush=True)
            time.sleep(60)
        ws.create("corpus", "new", name="new", write=slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    assert [m.id for m in ws.list("corpus")] == ["old"]
    assert (ws.path("corpus", "old") / "data.txt").read_text() == "previous"
    assert not ws.exists("corpus", "new")
    assert ws.get_state("active_corpus") == "old"


def test_folder_without_or_with_broken_manifest_is_not_an_artifact(tmp_path):
    ws = Workspace(tmp_path)
    (tmp_path / "corpus" / "nomanifest").mkdir(parents=True)
    broken = tmp_path / "corpus" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    ws.create("corpus", "good", name="good", write=write_text("x"))
    assert [m.id for m in ws.list("corpus")] == ["good"]


def test_list_is_newest_first(tmp_path):
    ws = Workspace(tmp_path)
    ws.create("corpus", "a", name="a", write=write_text("a"))
    time.sleep(0.01)
    ws.create("corpus", "b", name="b", write=write_text("b"))
    assert [m.id for m in ws.list("corpus")] == ["b", "a"]


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x y", "..", "/etc"])
def test_unsafe_names_are_refused(tmp_path, bad):
    with pytest.raises(UserError):
        Workspace(tmp_path).path("corpus", bad)


def test_state_round_trip_and_atomic_write(tmp_path):
    ws = Workspace(tmp_path)
    assert ws.get_state("missing", "dflt") == "dflt"
    ws.set_state("a", 1)
    ws.set_state("b", {"c": 2})
    assert (ws.get_state("a"), ws.get_state("b")) == (1, {"c": 2})
    (tmp_path / "state.json").write_text("garbage")
    assert ws.get_state("a") is None
    ws.set_state("a", 3)
    assert json.loads((tmp_path / "state.json").read_text()) == {"a": 3}
    atomic_write_text(tmp_path / "f.txt", "x")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".f.txt")] == []


def test_from_env_uses_corpus_lab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_LAB_HOME", str(tmp_path / "elsewhere"))
    assert Workspace.from_env().root == (tmp_path / "elsewhere").resolve()
    monkeypatch.delenv("CORPUS_LAB_HOME")
    monkeypatch.chdir(tmp_path)
    assert Workspace.from_env().root == (tmp_path / "workspace").resolve()
    assert os.path.isdir(tmp_path / "workspace")


def test_sessions_setting_different_keys_at_once_lose_none(tmp_path):
    import threading

    ws = Workspace(tmp_path)
    barrier = threading.Barrier(8)

    def setter(i):
        barrier.wait()
        for round_ in range(20):
            Workspace(tmp_path).set_state(f"key{i}", round_)  # each session may hold its own Workspace

    threads = [threading.Thread(target=setter, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(ws.get_state(f"key{i}") == 19 for i in range(8))
