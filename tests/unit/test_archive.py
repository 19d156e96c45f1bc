import io
import zipfile

import pytest

from core.corpus.archive import ZipLimits, read_zip
from core.corpus.readers import ReadOptions, Source, read_sources
from core.errors import UserError


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def mark_encrypted(data: bytes, name: bytes) -> bytes:
    """Set the 'encrypted' flag of one member in its local and central headers, as a tool that
    encrypts would (zipfile cannot write encrypted archives)."""
    data = bytearray(data)
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = data.find(signature)
        while start != -1:
            if data[start + name_at : start + name_at + len(name)] == name:
                data[start + flag_at] |= 0x1
            start = data.find(signature, start + 1)
    return bytes(data)


def test_zip_of_mixed_formats_is_read_in_memory():
    data = make_zip({
        "docs/a.txt": b"alpha text",
        "docs/b.csv": b"text,label\nbeta row,x\n",
        "c.jsonl": b'{"text": "gamma"}\n',
        "__MACOSX/._a.txt": b"junk",
        "docs/": b"",
    })
    corpus = read_sources([Source("bundle.zip", data)], ReadOptions(label_field="label"))
    assert sorted((d.source, d.text, d.label) for d in corpus.documents) == [
        ("bundle.zip/c.jsonl", "gamma", None),
        ("bundle.zip/docs/a.txt", "alpha text", None),
        ("bundle.zip/docs/b.csv", "beta row", "x"),
    ]


def test_traversal_absolute_nested_and_encrypted_members_are_refused_rest_kept():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("ok.txt", b"kept")
        z.writestr("../../etc/evil.txt", b"x")
        z.writestr("/abs/evil.txt", b"x")
        z.writestr("C:/win/evil.txt", b"x")
        z.writestr("inner.zip", make_zip({"a.txt": b"x"}))
        z.writestr("sneaky.txt", make_zip({"a.txt": b"x"}))  # an archive under a text name
        z.writestr("locked.txt", b"x")
    members, problems = read_zip(mark_encrypted(buffer.getvalue(), b"locked.txt"), name="x.zip")
    assert [m.name for m in members] == ["ok.txt"]
    assert len(problems) == 6
    assert sum("outside the archive" in p for p in problems) == 3
    assert sum("archives inside archives" in p for p in problems) == 2
    assert any("encrypted" in p for p in problems)


def test_zip_bomb_member_is_refused_by_ratio():
    bomb = make_zip({"bomb.txt": b"\0" * (20 << 20), "fine.txt": b"normal words"})
    members, problems = read_zip(bomb, name="bomb.zip")
    assert [m.name for m in members] == ["fine.txt"]
    assert "zip bombs" in problems[0]


def test_total_uncompressed_size_and_member_count_are_capped():
    data = make_zip({f"f{i}.txt": b"some words " * 1000 for i in range(5)}, zipfile.ZIP_STORED)
    with pytest.raises(UserError, match="unpacks to more than"):
        read_zip(data, name="big.zip", limits=ZipLimits(max_total_bytes=30_000))
    with pytest.raises(UserError, match="holds 5 files; the limit is 3"):
        read_zip(data, name="many.zip", limits=ZipLimits(max_members=3))


def test_truncated_zip_is_explained():
    data = make_zip({"a.txt": b"hello " * 1000})
    with pytest.raises(UserError, match="No text could be read.*not a readable zip"):
        read_sources([Source("cut.zip", data[: len(data) // 2])])


def test_the_upload_box_and_the_reader_share_one_limit():
    import tomllib
    from pathlib import Path

    from core.corpus.readers import Limits

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert Limits().max_source_bytes == config["server"]["maxUploadSize"] << 20
