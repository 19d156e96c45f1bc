"""Ingestion throughput: our readers against a plain read of the same file.

Usage: ``.venv/bin/python bench/ingest.py [--quick]``. Builds a ~100 MB text file and a
~50 MB CSV (10 / 5 MB with --quick) in bench/data/ from gensim's bundled corpora, times
ours and the peer alternately, prints a Markdown table, and ends with the headline
``RESULT ingest_ratio=<geometric mean of the text and CSV time ratios, ours/plain>``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from core.corpus.readers import ReadOptions, Source, read_sources  # noqa: E402
from core.corpus.samples import gensim_test_data, load_sample  # noqa: E402
from core.corpus.store import ingest_sources  # noqa: E402
from core.workspace import Workspace  # noqa: E402

DATA = ROOT / "bench" / "data"
MB = 1e6
# Goal: the geometric mean of text <= 2.5x and CSV <= 15x. Text: ours must also check NFKC, strip
# and wrap every line, about one more bare read's worth. CSV: pandas 3 parses bytes in C
# straight into Arrow strings; csv.reader alone (the floor for a reader that hands back a Python
# object per row) is ~4.5x pandas, and decoding the file to one str costs ~3.5x pandas again.
GOAL = 6.0
TEXT_OPTIONS = ReadOptions(split="line")
CSV_OPTIONS = ReadOptions(text_field="text", label_field="label")


# test data -------------------------------------------------------------------------------
def _pool() -> list[tuple[str, str]]:
    """(label, line) pairs of real English news and Wikipedia text, with its accents and scripts."""
    lee = (gensim_test_data() / "lee_background.cor").read_text(encoding="utf-8").split("\n")
    wiki = [p for d in load_sample("wikipedia").documents for p in d.text.split("\n")]
    return [("news", x.strip()) for x in lee if x.strip()] + [("wiki", x.strip()) for x in wiki if x.strip()]


def _messy(line: str) -> str:
    # Web and PDF text carries no-break spaces, ligatures and decomposed accents. One such
    # line sends the whole file through full NFKC normalisation, as a real upload would.
    return unicodedata.normalize("NFD", line).replace("fi", "\ufb01").replace(" ", "\u00a0", 3)


def _lines(pool, rng: random.Random, size: int):
    total = 0
    while total < size:
        label, line = rng.choice(pool)
        line = _messy(line) if rng.random() < 0.01 else line
        total += len(line.encode("utf-8")) + 1
        yield label, line


def make_data(quick: bool) -> tuple[Path, Path]:
    text_size, csv_size = (10, 5) if quick else (100, 50)
    text_path, csv_path = DATA / f"text_{text_size}mb.txt", DATA / f"table_{csv_size}mb.csv"
    if text_path.exists() and csv_path.exists():
        return text_path, csv_path
    DATA.mkdir(parents=True, exist_ok=True)
    pool, rng = _pool(), random.Random(42)
    with open(text_path, "w", encoding="utf-8", newline="") as f:
        for _, line in _lines(pool, rng, int(text_size * MB)):
            f.write(line + ("\n\n" if rng.random() < 0.1 else "\n"))  # some blank lines, as between paragraphs
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        # csv's defaults (\r\n rows, quotes only where needed) are what Excel and pandas write.
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label"])
        rows = _lines(pool, rng, int(csv_size * MB))
        for i, (label, line) in enumerate(rows):
            if rng.random() < 0.25:  # a multi-paragraph cell: quoted newlines
                line += "\n" + next(rows, (label, ""))[1]
            writer.writerow([i, line, label])
    return text_path, csv_path


# the cases: each returns what the user gets, so its freeing falls outside the timing -----
def text_ours(path: Path):
    return read_sources([Source(path.name, path.read_bytes())], TEXT_OPTIONS).documents


def text_plain(path: Path):
    # The fair peer yields lines too (ours splits per line), but skips decoding checks, NFKC,
    # stripping and Document objects: the ratio is the price of those.
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def csv_ours(path: Path):
    return read_sources([Source(path.name, path.read_bytes())], CSV_OPTIONS).documents


def csv_plain(path: Path):
    return pd.read_csv(path)


def _artifact(options: ReadOptions):
    def run(path: Path):  # the whole upload: read, word statistics, save to a fresh workspace
        ws = Workspace(Path(tempfile.gettempdir()) / f"corpus-lab-bench-{uuid.uuid4().hex}")
        ingest_sources(ws, [Source(path.name, path.read_bytes())], options, name=path.stem)
        return ws

    return run


CASES = {"text_ours": text_ours, "text_plain": text_plain, "csv_ours": csv_ours, "csv_plain": csv_plain,
         "text_artifact": _artifact(TEXT_OPTIONS), "csv_artifact": _artifact(CSV_OPTIONS)}


def timed(case: str, path: Path) -> float:
    gc.collect()
    start = time.perf_counter()
    result = CASES[case](path)
    elapsed = time.perf_counter() - start
    if isinstance(result, Workspace):
        shutil.rmtree(result.root)
    return elapsed


def peak_mb(case: str, path: Path) -> float:
    """Peak RSS a case adds, in a fresh process: its high-water mark after the run minus after the imports.

    Cheap and honest for the whole process (tracemalloc would slow the timed runs and miss
    pandas' C allocations); one run per case, outside the timed rounds.
    """
    out = subprocess.run([sys.executable, __file__, "--peak", case, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _high_water_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork+exec into ru_maxrss.
    status = Path("/proc/self/status")
    if status.exists():
        return next(int(x.split()[1]) for x in status.read_text().splitlines() if x.startswith("VmHWM:")) * 1024 / MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB


def _peak_child(case: str, path: Path) -> None:
    gc.collect()
    before = _high_water_mb()
    result = CASES[case](path)
    if isinstance(result, Workspace):
        shutil.rmtree(result.root)
    print(_high_water_mb() - before)


def check_same_work(text_path: Path, csv_path: Path) -> None:
    """Both sides must read the same documents, or the ratio compares different work."""
    ours, plain = len(text_ours(text_path)), sum(1 for x in text_plain(text_path) if x.strip())
    assert ours == plain, f"text: ours read {ours} documents, plain {plain} non-blank lines"
    ours, plain = len(csv_ours(csv_path)), len(csv_plain(csv_path))
    assert ours == plain, f"csv: ours read {ours} documents, pandas {plain} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 MB / 5 MB files, 3 rounds (under a minute)")
    parser.add_argument("--rounds", type=int, help="timed rounds per case (default 5, or 3 with --quick)")
    parser.add_argument("--profile", action="store_true", help="cProfile our text path once and stop")
    parser.add_argument("--peak", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        return _peak_child(args.peak[0], Path(args.peak[1]))
    rounds = args.rounds or (3 if args.quick else 5)
    text_path, csv_path = make_data(args.quick)
    check_same_work(text_path, csv_path)  # also warms the page cache and imports
    if args.profile:
        return cProfile.runctx("text_ours(text_path)", globals(), {"text_path": text_path}, sort="tottime")
    load = os.getloadavg()[0]
    path_of = {case: text_path if case.startswith("text") else csv_path for case in CASES}
    times: dict[str, list[float]] = {case: [] for case in CASES}
    for r in range(rounds):
        # Alternate ours and the peer, and reverse the order every other round, so drift
        # (other load, page cache, heap state) falls on both sides alike.
        for case in list(CASES) if r % 2 == 0 else reversed(CASES):
            times[case].append(timed(case, path_of[case]))
    median = {case: statistics.median(t) for case, t in times.items()}
    peak = {case: peak_mb(case, path_of[case]) for case in CASES}

    print(f"\n{rounds} rounds, median time; peak = extra peak RSS of a fresh process running the case once; "
          f"1-min load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs\n")
    print("| case | size MB | ours s | plain s | ours MB/s | plain MB/s | ratio ours/plain | ours peak MB | plain peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for label, ours, plain in [("text", "text_ours", "text_plain"), ("csv", "csv_ours", "csv_plain"),
                               ("text, whole artifact", "text_artifact", "text_plain"),
                               ("csv, whole artifact", "csv_artifact", "csv_plain")]:
        size = path_of[ours].stat().st_size / MB
        ratios[label] = median[ours] / median[plain]
        print(f"| {label} | {size:.1f} | {median[ours]:.2f} | {median[plain]:.2f} | {size / median[ours]:.1f} | "
              f"{size / median[plain]:.1f} | {ratios[label]:.2f} | {peak[ours]:.0f} | {peak[plain]:.0f} |")
    print("\nplain peers: text = open().read().split('\\n'); csv = pandas.read_csv. "
          "Whole-artifact rows (read + word stats + save) are for information, not in the headline.")
    print(f"RESULT ingest_ratio={math.sqrt(ratios['text'] * ratios['csv']):.2f} goal<={GOAL:g}")


if __name__ == "__main__":
    main()
