"""UMAP maps: Corpus Lab's ``build_map`` against a plain ``umap.UMAP().fit_transform`` on the same vectors.

Usage: ``.venv/bin/python bench/projection.py [--quick]``. For 5k, 20k and 50k words (5k and 20k
with --quick) of 100-dim vectors it times, each in a fresh process:

- cold, empty numba cache: import + the first map, ``NUMBA_CACHE_DIR`` pointing at an empty folder
  (what the very first run on a machine pays; ours also fills the cache);
- cold, warm numba cache: the same in a new process once the cache is filled (every app restart);
  the warm cache is what the two empty-cache runs at the first size left behind, merged;

then, in one process, warm runs alternating ours and plain (median), the cached revisit
(``build_map`` finding the artifact + ``load_map``), our stage times, and the trust of both maps
measured the same way (share of each word's 10 nearest cosine neighbours in the full 100-dim space
kept among its 10 nearest on the map). Peak memory is the process's VmHWM in the cold run.

umap-learn's own cold start is ~40-60 s on 2 cores, so --quick skips the cold rows: 5k words, warm
runs in a process using the machine's own numba cache, 1 round, the cached revisit (about a minute);
the full run ~15 min.

Both sides use n_neighbors=15, min_dist=0.1, metric="cosine", random_state=42 (which makes
umap-learn single-threaded: the price of a reproducible map). Ours also pre-reduces to 50 dims with
PCA, builds the kNN graph itself (exact up to 20k words, NN-descent above), computes the trust
scores and writes the artifact; plain does none of the last two.

The vectors are synthetic but shaped like word vectors (the Wikipedia sample has too few distinct
words for 50k): 400 topic centres on a low-rank subspace plus per-word noise, norms varying like
frequency, so cosine neighbourhoods are clustered but not trivially separable.

Prints a Markdown table; the last line is ``RESULT umap_cached_s=<seconds to revisit a cached 20k map> goal<=0.5``
(with --quick, the 5k map).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DIM, SEED = 100, 42
PLAIN = {"n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "random_state": SEED}
GOAL_CACHED = 0.5


def synthetic_vectors(n: int, seed: int = 0) -> np.ndarray:
    """(n, 100) float32 with topic structure (see the module docstring)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(30, DIM))  # a 30-D "semantic" subspace
    centres = rng.normal(size=(400, 30)) @ basis
    topic = rng.zipf(1.3, size=n) % 400  # uneven topic sizes
    x = centres[topic] * 0.15 + rng.normal(size=(n, 30)) @ basis * 0.12 + rng.normal(size=(n, DIM)) * 0.35
    x *= rng.lognormal(0, 0.3, size=(n, 1))
    return x.astype(np.float32)


def _high_water_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork+exec into ru_maxrss.
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# --- children (fresh processes) -----------------------------------------------------------------


def child_cold(side: str, root: str, vid: str, n: int) -> dict:
    start = time.perf_counter()
    if side == "plain":
        import umap

        x = np.load(Path(root) / "vectors" / vid / "vectors.npy", allow_pickle=False)
        umap.UMAP(**PLAIN).fit_transform(x)
        return {"s": time.perf_counter() - start, "peak_mb": _high_water_mb()}
    from core.embeddings.store import load_vectors
    from core.projection import ProjectionConfig, build_map, select_words
    from core.workspace import Workspace

    ws = Workspace(root)
    words = select_words(load_vectors(ws, vid), top_n=n)[0]
    manifest = build_map(ws, vid, words, ProjectionConfig())
    seconds = time.perf_counter() - start
    ws.delete("map", manifest.id)
    return {"s": seconds, "peak_mb": _high_water_mb(), **manifest.metrics}


def child_warm(root: str, vid: str, n: int, rounds: int) -> dict:
    import umap

    from core import projection
    from core.embeddings.store import load_vectors
    from core.workspace import Workspace

    ws = Workspace(root)
    kv = load_vectors(ws, vid)
    words = projection.select_words(kv, top_n=n)[0]
    x = np.load(Path(root) / "vectors" / vid / "vectors.npy", allow_pickle=False)
    config = projection.ProjectionConfig()

    def ours():
        start = time.perf_counter()
        manifest = projection.build_map(ws, vid, words, config)
        return time.perf_counter() - start, manifest

    def plain():
        start = time.perf_counter()
        coords = umap.UMAP(**PLAIN).fit_transform(x)
        return time.perf_counter() - start, coords

    # one untimed run each: JIT and first-touch costs belong to the cold rows
    _, manifest = ours()
    ws.delete("map", manifest.id)
    plain()
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    metrics = []
    for _ in range(rounds):
        seconds, manifest = ours()
        times["ours"].append(seconds)
        metrics.append(manifest.metrics)
        seconds, plain_coords = plain()
        times["plain"].append(seconds)
        if _ < rounds - 1:
            ws.delete("map", manifest.id)
    cached = []
    for _ in range(5):
        start = time.perf_counter()
        found = projection.build_map(ws, vid, words, config)
        data = projection.load_map(ws, found.id)
        cached.append(time.perf_counter() - start)
    # Trust of both maps against the same reference: full 100-dim cosine kNN.
    start = time.perf_counter()
    ours_trust = projection.trust_scores(x, data.coords, 10, metric="cosine")
    trust_full_s = time.perf_counter() - start
    plain_trust = projection.trust_scores(x, plain_coords, 10, metric="cosine")
    stage = {k: statistics.median(m[k] for m in metrics) for k in ("pca_s", "knn_s", "embed_s", "trust_s")}
    return {"ours": statistics.median(times["ours"]), "plain": statistics.median(times["plain"]),
            "cached": statistics.median(cached), "ours_trust_full": float(ours_trust.mean()),
            "plain_trust_full": float(plain_trust.mean()), "trust_full_s": trust_full_s,
            "knn": metrics[0].get("knn"), "pca_variance": metrics[0].get("pca_variance"), **stage}


def run_child(args: list[str], cache_dir: str | None) -> dict:
    env = dict(os.environ)
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def merge_cache(source: Path, target: Path) -> None:
    """Add numba cache files from ``source`` that ``target`` lacks (same library sources, so same names)."""
    for path in source.rglob("*"):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


# --- the parent -------------------------------------------------------------------------------


def prepare(root: Path, n: int) -> str:
    from gensim.models import KeyedVectors

    from core.embeddings.vectors import from_arrays, save_kv
    from core.workspace import Workspace

    ws = Workspace(root)
    vid = Workspace.artifact_id("vectors", {"bench": "synthetic", "n": n})
    kv = from_arrays(KeyedVectors(DIM), [f"w{i}" for i in range(n)], synthetic_vectors(n), np.arange(n, 0, -1))
    ws.create("vectors", vid, name=f"synthetic {n}", write=lambda d: save_kv(kv, d))
    return vid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k words, no cold runs, 1 warm round (~1 min)")
    parser.add_argument("--rounds", type=int, help="warm rounds per side (default 2, 1 with --quick)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "cold":
            side, root, vid, n = rest
            print(json.dumps(child_cold(side, root, vid, int(n))))
        else:
            root, vid, n, rounds = rest
            print(json.dumps(child_warm(root, vid, int(n), int(rounds))))
        return

    sizes = (5_000,) if args.quick else (5_000, 20_000, 50_000)
    rounds = args.rounds or (1 if args.quick else 2)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-map-"))
    warm_cache = str(tmp / "numba-warm")
    print(f"{DIM}-dim synthetic word vectors; n_neighbors 15, min_dist 0.1, cosine, seed 42; "
          f"warm: {rounds} round(s) alternating, median. Load average at start: {os.getloadavg()[0]:.1f}\n")
    rows, results = [], {}
    try:
        for n in sizes:
            root = tmp / f"ws{n}"
            vid = prepare(root, n)
            cold = {}
            if not args.quick:
                for side in ("ours", "plain"):  # each in its own empty cache folder
                    folder = tmp / f"numba-empty-{side}-{n}"
                    cold[side, "empty"] = run_child(["cold", side, str(root), vid, str(n)], str(folder))
                    merge_cache(folder, Path(warm_cache))  # the warm cache = what the empty-cache runs left
                for side in ("ours", "plain"):
                    cold[side, "warm"] = run_child(["cold", side, str(root), vid, str(n)], warm_cache)
            # --quick has no cold runs to fill a cache of its own: it uses the machine's (the app's) numba cache.
            warm = run_child(["warm", str(root), vid, str(n), str(rounds)], None if args.quick else warm_cache)
            results[n] = warm
            rows.append((n, cold, warm))
            print(f"  {n:,} words done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("| words | side | cold, empty numba cache s | cold, warm cache s | warm s | cached revisit s "
          "| trust (full-space ref.) | peak MiB (cold) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n, cold, warm in rows:
        for side in ("ours", "plain"):
            cached = f"{warm['cached']:.3f}" if side == "ours" else "—"
            empty, hot = (f"{cold[side, c]['s']:.1f}" if (side, c) in cold else "" for c in ("empty", "warm"))
            peak = f"{cold[side, 'warm']['peak_mb']:.0f}" if cold else ""
            print(f"| {n:,} | {side} | {empty} | {hot} | {warm[side]:.1f} "
                  f"| {cached} | {warm[side + '_trust_full']:.3f} | {peak} |")
    print("\n| words | ours/plain cold (empty) | ours/plain cold (warm cache) | ours/plain warm "
          "| our stages s: PCA / kNN / layout / trust | kNN | PCA-50 variance |")
    print("|---:|---:|---:|---:|---|---|---:|")
    for n, cold, warm in rows:
        ratio = [f"{cold['ours', c]['s'] / cold['plain', c]['s']:.2f}" if cold else "" for c in ("empty", "warm")]
        stages = " / ".join(f"{warm[k]:.2f}" for k in ("pca_s", "knn_s", "embed_s", "trust_s"))
        print(f"| {n:,} | {ratio[0]} | {ratio[1]} | {warm['ours'] / warm['plain']:.2f} | {stages} "
              f"| {warm['knn']} | {warm['pca_variance']:.2f} |")
    big = max(results)
    print(f"\nAt {big:,} words: our trust scores took {results[big]['trust_s']:.2f} s (reusing the kNN graph); "
          f"measuring them afresh against the full 100-dim space took {results[big]['trust_full_s']:.2f} s.")
    print("Goals: cold <= plain cold; warm <= 1.1x plain warm; cached revisit <= 0.5 s.")
    cached = results.get(20_000, results[big])["cached"]
    print(f"\nRESULT umap_cached_s={cached:.3f} goal<={GOAL_CACHED}")


if __name__ == "__main__":
    main()
