"""Model quality: Corpus Lab's size-aware default settings against gensim's own defaults.

Usage: ``.venv/bin/python bench/quality.py [--quick] [--sweep]``. Builds the Lee and Wikipedia
samples' tokens artifacts with our default pipeline, then trains CBOW and skip-gram twice on each:
*ours* = ``core.embeddings.defaults.auto_settings`` applied to the preset in
``core.embeddings.config.PRESETS`` (what the Train form starts from), and *gensim* = gensim's
defaults (5 epochs, min count 5, window 5, 100 dims). For each model: the quality verdict of
``core.embeddings.quality.assess`` (mean cosine of random pairs, neighbour gap, share of words seen
often enough, verdict), WordSim-353 Spearman ρ with the pairs it covers, the mean trust of a UMAP
map of the 2,000 most frequent words (``core.projection``, trust k = 10) and the seconds training
took. Then, per sample, the 5 nearest neighbours of a probe word under each setting.

``--quick`` (under 2 minutes on 2 cores): Lee with everything, Wikipedia CBOW only and no maps.
``--sweep`` adds the sweep the rule in ``defaults.py`` was read from: CBOW at 5–100 epochs on the
polarity, Lee and Wikipedia samples, each with its verdict.

Prints Markdown tables; the last line is
``RESULT lee_default_mean_cosine=<mean cosine of random pairs, our default CBOW on Lee> goal<=0.6``
(0.6 is where ``quality.py`` stops calling a space *weak* for crowding).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.corpus.store import ingest_sample  # noqa: E402
from core.embeddings.config import PRESETS  # noqa: E402
from core.embeddings.defaults import auto_settings  # noqa: E402
from core.embeddings.quality import WEAK_COSINE, map_verdict  # noqa: E402
from core.embeddings.store import load_details, load_vectors  # noqa: E402
from core.embeddings.train import train_vectors  # noqa: E402
from core.preprocess import PipelineConfig  # noqa: E402
from core.projection import ProjectionConfig, build_map, load_map, select_words  # noqa: E402
from core.tokens import build_tokens  # noqa: E402
from core.workspace import Workspace  # noqa: E402

GOAL = WEAK_COSINE
PROBES = {"lee": "police", "wikipedia": "war"}  # "war": 596 times in the Wikipedia sample
TITLES = {"lee": "Lee", "wikipedia": "Wikipedia", "polarity": "polarity"}
MAP_WORDS = 2000
NEIGHBOURS = 5
SWEEP_EPOCHS = (5, 10, 20, 30, 50, 100)


def gensim_defaults(preset):
    return replace(preset, epochs=5, min_count=5, window=5, vector_size=100)


def tokens_of(ws: Workspace, sample: str):
    corpus = ingest_sample(ws, sample)
    return build_tokens(ws, corpus.id, PipelineConfig())


def measure(ws: Workspace, tokens, config, with_map: bool) -> dict:
    manifest = train_vectors(ws, tokens.id, config)
    m = manifest.metrics
    q = m["quality"]
    ws353 = load_details(ws, manifest.id)["scores"].get("wordsim353", {})
    row = {"id": manifest.id, "config": config, "seconds": m["seconds"], "words": m["words"],
           "mean_cosine": q["mean_cosine"], "gap": q["neighbour_gap"], "trained": q["well_trained"],
           "verdict": q["verdict"], "rho": m.get("wordsim353"), "covered": ws353.get("answerable"),
           "pairs": ws353.get("pairs"), "trust": None, "map_level": None, "map_s": None}
    if with_map:
        kv = load_vectors(ws, manifest.id)
        words, _ = select_words(kv, mode="top", top_n=MAP_WORDS)
        pconfig = ProjectionConfig(method="umap", dims=2)
        start = time.perf_counter()
        mp = build_map(ws, manifest.id, words, pconfig)
        row["map_s"] = time.perf_counter() - start
        trust = load_map(ws, mp.id).trust
        row["trust"] = float(np.mean(trust))
        row["map_level"] = map_verdict(trust, pconfig.trust_k)[0]
    return row


def neighbours(ws: Workspace, vectors_id: str, word: str) -> str:
    kv = load_vectors(ws, vectors_id)
    if word not in kv.key_to_index:
        return f"*{word} not in the vocabulary*"
    # four decimals where a collapsed model puts every neighbour at 0.999x
    return ", ".join(f"{w} {s:.4f}" if s >= 0.99 else f"{w} {s:.2f}" for w, s in kv.most_similar(word, topn=NEIGHBOURS))


def fmt(x, spec: str, none: str = "—") -> str:
    return none if x is None else format(x, spec)


def sweep(ws: Workspace) -> None:
    print("\nSweep: CBOW (preset, our min count) at each number of epochs — mean cosine / neighbour gap / verdict\n")
    print("| sample | tokens | min count | " + " | ".join(f"{e} epochs" for e in SWEEP_EPOCHS) + " | auto |")
    print("|---|---:|---:|" + "---|" * (len(SWEEP_EPOCHS) + 1))
    for sample in ("polarity", "lee", "wikipedia"):
        tokens = tokens_of(ws, sample)
        n = tokens.metrics["tokens_after"]
        auto, _ = auto_settings(PRESETS["CBOW"], n)
        cells = []
        for epochs in SWEEP_EPOCHS:
            q = train_vectors(ws, tokens.id, replace(auto, epochs=epochs)).metrics["quality"]
            cells.append(f"{fmt(q['mean_cosine'], '.2f')} / {fmt(q['neighbour_gap'], '.2f')} {q['verdict']}")
        print(f"| {TITLES[sample]} | {n:,} | {auto.min_count} | " + " | ".join(cells) + f" | {auto.epochs} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Lee in full, Wikipedia CBOW without maps (under 2 min)")
    parser.add_argument("--sweep", action="store_true", help="also CBOW at 5-100 epochs on every sample")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    ws = Workspace(tempfile.mkdtemp(prefix="corpus-lab-bench-"))
    plan = [("lee", ("CBOW", "Skip-gram"), True),
            ("wikipedia", ("CBOW",) if args.quick else ("CBOW", "Skip-gram"), not args.quick)]
    rows, header = [], []
    for sample, presets, with_map in plan:
        tokens = tokens_of(ws, sample)
        n = tokens.metrics["tokens_after"]
        for preset in presets:
            ours, reason = auto_settings(PRESETS[preset], n)
            header.append(f"- {TITLES[sample]}, {preset}: {reason}")
            for side, config in (("ours", ours), ("gensim", gensim_defaults(PRESETS[preset]))):
                row = measure(ws, tokens, config, with_map)
                rows.append({"sample": sample, "tokens": n, "preset": preset, "side": side, **row})
    print(f"Our default pipeline; 2 workers; maps: UMAP 2-D of the top {MAP_WORDS:,} words, trust k 10; "
          f"load average {load:.1f} at the start\n")
    print("\n".join(header) + "\n")
    print("| sample | model | settings | epochs | min count | words | mean cosine | neighbour gap | well trained "
          "| verdict | WordSim-353 ρ (pairs) | map trust | train s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in rows:
        c = r["config"]
        rho = f"{fmt(r['rho'], '.3f')} ({r['covered']}/{r['pairs']})"
        trust = "—" if r["trust"] is None else f"{r['trust']:.3f} {r['map_level']}"
        print(f"| {TITLES[r['sample']]} ({r['tokens']:,} tokens) | {r['preset']} | {r['side']} | {c.epochs} | "
              f"{c.min_count} | {r['words']:,} | {fmt(r['mean_cosine'], '.3f')} | {fmt(r['gap'], '.3f')} | "
              f"{fmt(r['trained'], '.0%')} | {r['verdict']} | {rho} | {trust} | {r['seconds']:.2f} |")
    same = [r for r in rows if r["side"] == "ours"
            and any(o["id"] == r["id"] and o["side"] == "gensim" for o in rows)]
    for r in same:
        print(f"\n{TITLES[r['sample']]} {r['preset']}: our settings are gensim's here (same model, trained once).")
    for sample, _, _ in plan:
        probe = PROBES[sample]
        print(f"\n{TITLES[sample]}: the {NEIGHBOURS} nearest neighbours of \"{probe}\" (cosine)\n")
        print("| model | settings | neighbours |")
        print("|---|---|---|")
        for r in rows:
            if r["sample"] == sample:
                print(f"| {r['preset']} | {r['side']} ({r['config'].epochs} epochs) | {neighbours(ws, r['id'], probe)} |")
    map_s = [r["map_s"] for r in rows if r["map_s"] is not None]
    if map_s:
        print(f"\nMaps took {sum(map_s):.1f} s in all (the first includes numba's start-up).")
    if args.sweep:
        sweep(ws)
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f} at the end.")
    lee = next(r for r in rows if r["sample"] == "lee" and r["preset"] == "CBOW" and r["side"] == "ours")
    print(f"\nRESULT lee_default_mean_cosine={lee['mean_cosine']:.3f} goal<={GOAL}")


if __name__ == "__main__":
    main()
