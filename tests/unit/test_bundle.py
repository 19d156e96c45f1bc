import hashlib
import io
import json
import pickle
import struct
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.bundle import (
    BUNDLE_FORMAT,
    BundleArtifact,
    ImportResult,
    _stream,
    closure,
    export_bundle,
    import_bundle,
    inspect_bundle,
    missing_parents,
)
from core.corpus.archive import ZipLimits
from core.errors import UserError
from core.workspace import Workspace

TIGHT = ZipLimits(max_members=100, max_total_bytes=2 << 20, max_ratio=50.0, ratio_floor=1 << 20)


# --- a small workspace: a corpus, a tokens child, a vectors grandchild, a report -------------------------


def _write(files: dict[str, bytes]):
    def write(folder: Path):
        for rel, data in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
    return write


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


@pytest.fixture
def source(tmp_path):
    ws = Workspace(tmp_path / "source")
    cid = ws.artifact_id("corpus", {"sample": "tiny"})
    ws.create("corpus", cid, name="tiny corpus", config={"sample": "tiny"}, write=_write({
        "documents.jsonl": b'{"text": "alpha beta"}\n{"text": "gamma"}\n',
        "frequencies.npy": npy_bytes(np.arange(5, dtype=np.int64)),
    }))
    tid = ws.artifact_id("tokens", {"lower": True}, [cid])
    ws.create("tokens", tid, name="tokens", config={"lower": True}, parents=[cid], write=_write({
        "tokens.txt": b"alpha beta\ngamma\n",
        "sub/vocab.json": b'["alpha", "beta", "gamma"]',
    }))
    vid = ws.artifact_id("vectors", {"dim": 4}, [tid])
    ws.create("vectors", vid, name="vectors", config={"dim": 4}, parents=[tid], write=_write({
        "vectors.npy": npy_bytes(np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)),
    }))
    (ws.root / "reports").mkdir()
    (ws.root / "reports" / "r1a2b3.json").write_text(json.dumps({"id": "r1a2b3", "title": "T", "items": []}))
    return ws, cid, tid, vid


def files_of(ws: Workspace, kind: str, artifact_id: str) -> dict[str, bytes]:
    folder = ws.path(kind, artifact_id)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- taking a good bundle apart and putting it back together, with changes ------------------------------


def unpack(data: bytes) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    return json.loads(members.pop("bundle.json")), members


def pack(index: dict, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        z.writestr("bundle.json", json.dumps(index))
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def entry(index: dict, kind: str) -> dict:
    return next(a for a in index["artifacts"] if a["kind"] == kind)


def put(index: dict, members: dict, kind: str, rel: str, data: bytes, *, fix_sha: bool = True) -> str:
    """Add or replace one file of an artifact, listing it in bundle.json (with its true sha unless told)."""
    e = entry(index, kind)
    member = f"artifacts/{kind}/{e['id']}/{rel}"
    members[member] = data
    e["files"] = [f for f in e["files"] if f["path"] != rel]
    sha = hashlib.sha256(data).hexdigest() if fix_sha else "0" * 64
    e["files"].append({"path": rel, "size": len(data), "sha256": sha})
    return member


@pytest.fixture
def good(source):
    ws, cid, tid, vid = source
    return export_bundle(ws, [("tokens", tid)], reports=["r1a2b3"]), cid, tid


def refused(data: bytes, tmp_path, limits=None) -> ImportResult:
    """The problems an import reports; nothing of the refused artifact may appear."""
    kwargs = {"limits": limits} if limits else {}
    ws = Workspace(tmp_path / f"target-{uuid.uuid4().hex[:6]}")  # fresh each time: nothing "existing"
    result = import_bundle(ws, data, **kwargs)
    assert not any((ws.root / ".tmp").iterdir())  # staging cleaned up
    info = inspect_bundle(data, **kwargs)
    assert info.problems == result.problems  # inspect sees what import sees
    return result


# --- round trip -----------------------------------------------------------------------------------------


def test_round_trip_same_ids_same_bytes_then_existing(source, tmp_path):
    ws, cid, tid, vid = source
    data = export_bundle(ws, [("tokens", tid)], reports=["r1a2b3"])
    info = inspect_bundle(data)
    assert info.format == BUNDLE_FORMAT and not info.problems and not info.warnings
    assert [(a.kind, a.id, a.name) for a in info.artifacts] == [("corpus", cid, "tiny corpus"), ("tokens", tid, "tokens")]
    assert info.artifacts[0].size == sum(len(b) for b in files_of(ws, "corpus", cid).values())
    assert info.reports == ["r1a2b3"]

    target = Workspace(tmp_path / "target")
    result = import_bundle(target, data)
    assert result.added == [("corpus", cid), ("tokens", tid)] and not result.problems and not result.warnings
    assert result.reports == ["r1a2b3"]
    for kind, artifact_id in result.added:
        assert files_of(target, kind, artifact_id) == files_of(ws, kind, artifact_id)
        assert target.manifest(kind, artifact_id) == ws.manifest(kind, artifact_id)
    assert [m.id for m in target.list("tokens")] == [tid]
    assert (target.root / "reports" / "r1a2b3.json").read_bytes() == (ws.root / "reports" / "r1a2b3.json").read_bytes()
    assert not target.exists("vectors", vid)  # only what was chosen, and its ancestors

    again = import_bundle(target, data)
    assert again.added == [] and again.existing == [("corpus", cid), ("tokens", tid)]
    assert again.existing_reports == ["r1a2b3"] and again.reports == [] and not again.problems


def test_existing_artifact_is_kept_not_overwritten(source, tmp_path):
    ws, cid, tid, vid = source
    target = Workspace(tmp_path / "target")
    target.create("corpus", cid, name="mine", write=_write({"documents.jsonl": b"{}\n"}))
    result = import_bundle(target, export_bundle(ws, [("tokens", tid)]))
    assert result.existing == [("corpus", cid)] and result.added == [("tokens", tid)]
    assert target.manifest("corpus", cid).name == "mine"


def test_closure_is_parents_first_and_skips_missing_parents(source, tmp_path):
    ws, cid, tid, vid = source
    assert closure(ws, [("vectors", vid), ("corpus", cid)]) == [("corpus", cid), ("tokens", tid), ("vectors", vid)]
    orphan = ws.artifact_id("map", {"x": 1}, ["ffff0000ffff0000"])
    ws.create("map", orphan, name="map", parents=["ffff0000ffff0000", vid], write=_write({"m.json": b"{}"}))
    assert closure(ws, [("map", orphan)])[-1] == ("map", orphan)
    assert "ffff0000ffff0000" in " ".join(missing_parents(ws, [("map", orphan)]))
    data = export_bundle(ws, [("map", orphan)])
    assert any("ffff0000ffff0000" in w for w in inspect_bundle(data).warnings)
    result = import_bundle(Workspace(tmp_path / "target"), data)
    assert len(result.added) == 4 and any("ffff0000ffff0000" in w for w in result.warnings)
    alone = import_bundle(Workspace(tmp_path / "alone"), export_bundle(ws, [("vectors", vid)], with_parents=False))
    assert alone.added == [("vectors", vid)] and any(tid in w and "without its parent" in w for w in alone.warnings)


def test_export_refuses_what_it_cannot_carry(source):
    ws, cid, tid, vid = source
    with pytest.raises(UserError, match="no tokens 'abc'"):
        export_bundle(ws, [("tokens", "abc")])
    with pytest.raises(UserError, match="not a kind"):
        export_bundle(ws, [("weights", cid)])
    with pytest.raises(UserError, match="at least one"):
        export_bundle(ws, [])
    with pytest.raises(UserError, match="no report"):
        export_bundle(ws, [], reports=["nothere"])
    with pytest.raises(UserError, match="at most"):
        export_bundle(ws, [("vectors", vid)], limits=ZipLimits(max_total_bytes=100))
    (ws.path("corpus", cid) / "old.pkl").write_bytes(b"x")
    with pytest.raises(UserError, match="old.pkl"):
        export_bundle(ws, [("tokens", tid)])


# --- the whole bundle refused ---------------------------------------------------------------------------


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"just some text, not a zip at all", "not a readable zip"),
    (b"PK\x05\x06" + b"\0" * 18, "no bundle.json"),  # an empty zip
])
def test_not_a_bundle(data, message):
    with pytest.raises(UserError, match=message):
        inspect_bundle(data)


def test_unknown_format_and_broken_index(good, tmp_path):
    data, *_ = good
    index, members = unpack(data)
    with pytest.raises(UserError, match="format 2.*newer"):
        inspect_bundle(pack({**index, "format": 2}, members))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("bundle.json", "{not json")
    with pytest.raises(UserError, match="bundle.json cannot be read"):
        import_bundle(Workspace(tmp_path / "t"), buffer.getvalue())


@pytest.mark.parametrize("name", ["../evil.txt", "artifacts/../../evil.txt", "/etc/evil", "artifacts\\corpus\\x.txt",
                                  "C:/evil.txt", "artifacts//x"])
def test_zip_slip_names_refuse_the_bundle(good, tmp_path, name):
    data, *_ = good
    index, members = unpack(data)
    target = Workspace(tmp_path / "target")
    with pytest.raises(UserError, match="points outside") as caught:
        import_bundle(target, pack(index, {**members, name: b"gotcha"}))
    assert name.replace("\\", "\\\\") in str(caught.value) or name in str(caught.value)
    assert not target.list("corpus") and not (tmp_path / "evil.txt").exists()


def test_zip_slip_path_inside_bundle_json(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    entry(index, "corpus")["files"].append({"path": "../../escape.txt", "size": 1, "sha256": "0" * 64})
    with pytest.raises(UserError, match=r"'\.\./\.\./escape\.txt'.*outside"):
        import_bundle(Workspace(tmp_path / "target"), pack(index, members))


def test_bomb_is_refused_from_its_header(good, tmp_path):
    data, *_ = good
    index, members = unpack(data)
    bomb = pack(index, {**members, "artifacts/corpus/boom.txt": bytes(50 << 20)})  # 50 MB of zeros, ~50 KB zipped
    with pytest.raises(UserError, match=r"'artifacts/corpus/boom\.txt' expands .*zip bombs"):
        import_bundle(Workspace(tmp_path / "target"), bomb, limits=TIGHT)
    with pytest.raises(UserError, match=r"unpacks to .*largest.*boom\.txt"):
        inspect_bundle(bomb, limits=ZipLimits(max_total_bytes=2 << 20, max_ratio=1e9))


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """Patch the uncompressed size of ``member`` in its local header and the central directory, as a
    hand-made bomb would (zipfile always writes the true size, so the bytes are edited afterwards)."""
    data, name = bytearray(data), member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = data.find(signature)
        while start != -1:
            if data[start + name_at: start + name_at + len(name)] == name:
                data[start + size_at: start + size_at + 4] = struct.pack("<I", size)
            start = data.find(signature, start + 1)
    return bytes(data)


def test_header_that_lies_about_its_size_is_caught_while_reading(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    member = put(index, members, "corpus", "big.txt", bytes(8 << 20))  # 8 MiB: over TIGHT's 2 MiB total
    honest = pack(index, members)
    with pytest.raises(UserError, match="zip bombs"):  # told the truth, the header alone gives it away
        inspect_bundle(honest, limits=TIGHT)
    liar = lie_about_size(honest, member, 1000)  # the headers now claim 1000 bytes: the header checks pass
    result = refused(liar, tmp_path, limits=TIGHT)
    assert any(p.startswith(f"{member}: could not be read") and f"corpus {cid} was not imported" in p
               for p in result.problems), result.problems
    assert ("corpus", cid) not in result.added


def test_reading_stops_at_the_caps_whatever_the_header_says():
    class Endless(io.RawIOBase):
        reads = 0

        def read(self, n=-1):
            self.reads += 1
            return bytes(n)

    src = Endless()
    with pytest.raises(UserError, match=r"more than the 2\.0 MiB .*'x\.bin'"):
        _stream(src, None, member="x.bin", declared=10**12, compressed=10**12, budget=2 << 20, limits=TIGHT)
    assert src.reads <= 3  # stopped at the cap, one chunk past it at most
    with pytest.raises(UserError, match="expands more than 50×"):
        _stream(Endless(), None, member="x.bin", declared=10**12, compressed=1000, budget=10**12, limits=TIGHT)
    with pytest.raises(UserError, match="more than the 1,000 bytes its header claims"):
        _stream(Endless(), None, member="x.bin", declared=1000, compressed=10**12, budget=10**12, limits=TIGHT)


def test_too_many_members(good):
    data, *_ = good
    with pytest.raises(UserError, match="more than the 3"):
        inspect_bundle(data, limits=ZipLimits(max_members=3))


# --- single entries refused, the rest imported ----------------------------------------------------------


@pytest.mark.parametrize("rel", ["weights.pkl", "model.pt", "pytorch_model.bin", "w2v.model", "clf.joblib",
                                 "deep/x.PICKLE", "ck.ckpt", "m.pth"])
def test_pickle_by_name(good, tmp_path, rel):
    data, cid, tid = good
    index, members = unpack(data)
    member = put(index, members, "corpus", rel, b"harmless bytes, still refused")
    result = refused(pack(index, members), tmp_path)
    assert result.added == [("tokens", tid)]  # the child still arrives; its parent did not
    assert any(p.startswith(f"{member}: refused") and "pickle" in p and f"corpus {cid} was not imported" in p
               for p in result.problems), result.problems
    assert any("without its parent" in w for w in result.warnings)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_by_magic_bytes(good, tmp_path, protocol):
    data, cid, _ = good
    index, members = unpack(data)
    member = put(index, members, "corpus", "data.dat", pickle.dumps({"a": 1}, protocol=protocol))
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(member) and f"starts like a pickle (protocol {protocol})" in p for p in result.problems)


def test_object_npy_and_broken_npy(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    member = put(index, members, "corpus", "frequencies.npy", npy_bytes(np.array([1, "a", None], dtype=object), True))
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(member) and "Python objects" in p for p in result.problems), result.problems
    put(index, members, "corpus", "frequencies.npy", npy_bytes(np.arange(100, dtype=np.int64))[:-8])  # one short
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(member) and "header promises" in p for p in result.problems), result.problems


def test_nested_zip_is_refused(good, tmp_path):
    data, *_ = good
    index, members = unpack(data)
    member = put(index, members, "corpus", "weights.dat", data)  # torch's pickles come zipped
    assert any(p.startswith(member) and "zip archive" in p for p in refused(pack(index, members), tmp_path).problems)


def test_safetensors_whose_length_looks_like_a_pickle_is_kept(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    header = json.dumps({"__metadata__": {}}).encode().ljust(0x0280)  # length 640: first bytes b"\x80\x02"
    put(index, members, "corpus", "model/model.safetensors", struct.pack("<Q", len(header)) + header)
    assert not refused(pack(index, members), tmp_path).problems
    member = put(index, members, "corpus", "model/model.safetensors", pickle.dumps([1], protocol=2))
    assert any(p.startswith(member) and "not a safetensors file" in p for p in refused(pack(index, members), tmp_path).problems)


def test_missing_manifest(good, tmp_path):
    data, cid, tid = good
    index, members = unpack(data)
    member = f"artifacts/corpus/{cid}/manifest.json"
    del members[member]
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"{member}: missing from the zip") for p in result.problems), result.problems
    entry(index, "corpus")["files"] = [f for f in entry(index, "corpus")["files"] if f["path"] != "manifest.json"]
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"artifacts/corpus/{cid}/manifest.json: missing") for p in result.problems), result.problems
    assert result.added == [("tokens", tid)]


@pytest.mark.parametrize("change, message", [
    (lambda m: {**m, "id": "0123456789abcdef"}, "describes corpus 0123456789abcdef but sits in the folder of corpus"),
    (lambda m: {**m, "kind": "tokens"}, "describes tokens"),
    (lambda m: {k: v for k, v in m.items() if k != "name"}, "not a readable manifest"),
    (lambda m: {**m, "parents": "abc"}, "wrong type"),
])
def test_mismatching_or_broken_manifest(good, tmp_path, change, message):
    data, cid, _ = good
    index, members = unpack(data)
    manifest = json.loads(members[f"artifacts/corpus/{cid}/manifest.json"])
    member = put(index, members, "corpus", "manifest.json", json.dumps(change(manifest)).encode())
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"{member}: refused") and message in p for p in result.problems), result.problems


def test_unparseable_manifest(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    member = put(index, members, "corpus", "manifest.json", b"{oops")
    assert any(p.startswith(member) and "not a readable manifest" in p for p in refused(pack(index, members), tmp_path).problems)


def test_unknown_kind_and_unsafe_id(good, tmp_path):
    data, cid, tid = good
    index, members = unpack(data)
    e = entry(index, "corpus")
    e["kind"] = "weights"
    members = {k.replace("artifacts/corpus/", "artifacts/weights/"): v for k, v in members.items()}
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"artifacts/weights/{cid}: skipped") and "'weights' is not a kind" in p for p in result.problems)
    assert not any("bundle.json does not list" in p for p in result.problems)  # its files are named, not "unlisted"
    e["kind"], e["id"] = "corpus", "abc.def"
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith("artifacts/corpus/abc.def: skipped") and "not a valid artifact id" in p for p in result.problems)


def test_sha_or_size_mismatch(good, tmp_path):
    data, cid, _ = good
    index, members = unpack(data)
    member = f"artifacts/corpus/{cid}/documents.jsonl"
    members[member] = members[member].replace(b"alpha", b"omega")  # same size, other bytes
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"{member}: refused") and "sha256 differs" in p for p in result.problems), result.problems
    members[member] += b"\n"
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith(f"{member}: refused") and "size differs" in p for p in result.problems), result.problems


def test_unlisted_members_are_ignored_and_reported(good, tmp_path):
    data, cid, tid = good
    index, members = unpack(data)
    stray = f"artifacts/corpus/{cid}/extra.txt"
    result = refused(pack(index, {**members, stray: b"x", "notes.txt": b"y"}), tmp_path)
    assert result.added == [("corpus", cid), ("tokens", tid)]
    assert f"{stray}: ignored, bundle.json does not list it." in result.problems
    assert not (Workspace(tmp_path / "target").path("corpus", cid) / "extra.txt").exists()


def test_bad_reports(good, tmp_path):
    data, *_ = good
    index, members = unpack(data)
    members["reports/r1a2b3.json"] = b"[1, 2]"
    index["reports"][0].update(size=6, sha256=hashlib.sha256(b"[1, 2]").hexdigest())
    index["reports"].append({"id": "../x", "size": 1, "sha256": "0" * 64})
    result = refused(pack(index, members), tmp_path)
    assert any(p.startswith("reports/r1a2b3.json: refused") and "not a report" in p for p in result.problems)
    assert any("not a valid report id" in p for p in result.problems)
    assert result.reports == [] and len(result.added) == 2


def test_inspect_lists_without_writing(good, tmp_path):
    data, cid, tid = good
    info = inspect_bundle(io.BytesIO(data))  # a file object works too (an upload)
    assert info.artifacts[0] == BundleArtifact("corpus", cid, "tiny corpus", info.artifacts[0].size)
    kind, artifact_id, name, size = info.artifacts[1]
    assert (kind, artifact_id) == ("tokens", tid) and size > 0
    assert info.created > 0 and info.version
