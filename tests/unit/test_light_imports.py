"""What a page's first render imports: the heavy libraries load where a page needs them, not before.

Each of these was once on a first render of a fresh server (bench/ui.py): gensim (~1.3 s) through the
sidebar's model listing and the Embeddings page's modules, scikit-learn (~1 s) through the Classify
page's modules, torch (~1.3-3 s) through the model picker's device, dtype and memory questions.
Checked in a fresh interpreter, since this one has them all.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def heavy_after(statement: str, also: tuple[str, ...] = ()) -> set[str]:
    heavy = ("gensim", "sklearn", "torch", "transformers", "scipy", *also)
    code = (f"import sys\n{statement}\n"
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement", [
    # every page: the app shell, the sidebar and the session's choices (its model listing included)
    "import ui.sidebar, ui.state, ui.cached, ui.permalink, ui.access, core.embeddings.catalog",
    # the Embeddings page's Train tab: manifests, the training curve, the form (gensim when a model is loaded)
    "from core.embeddings.store import KIND, load_details, vectors_id; from ui import vector_io, vector_query, verdict; "
    "from ui.embedding_form import embedding_form",
    # the Classify page before a score is computed, a labelled corpus's split included
    "import core.classify, ui.classify_view\nfrom core.classify.split import SplitConfig, make_split\n"
    "make_split(['pos', 'neg', 'neu'] * 20, SplitConfig())",
    # the Fine-tune page's form and results, before the estimate
    "import core.finetune, core.models, ui.finetune_form, ui.finetune_results",
])
def test_a_first_render_imports_nothing_heavy(statement):
    assert heavy_after(statement) == set()


def test_the_map_page_offers_words_without_gensim_or_pandas(tmp_path):
    import json

    import numpy as np

    (tmp_path / "vocab.json").write_text(json.dumps({"version": 1, "words": ["a", "b"], "counts": [2, 1]}))
    np.save(tmp_path / "vectors.npy", np.zeros((2, 3), np.float32))
    # what the Map page imports and reads before a map is drawn: its form offers the model's words
    statement = ("import core.projection, core.semantic_axes, core.topics, core.docmap, core.map_figure, "
                 "ui.map_view, ui.map_controls, ui.topics_view, ui.verdict\n"
                 "from core.embeddings.vectors import load_vocabulary\n"
                 f"assert len(load_vocabulary({str(tmp_path)!r})) == 2")
    assert heavy_after(statement, also=("pandas",)) == set()


def test_the_preprocess_page_shows_its_preview_and_run_button_without_pandas():
    # pandas (~0.4 s cold) comes with the normalisers' table and a run's report, after the first render
    assert heavy_after("import core.preprocess, core.tokens, ui.pipeline_form, ui.token_view, ui.demo, ui.jobs",
                       also=("pandas",)) == set()


def test_the_default_device_on_a_machine_without_a_gpu_driver_needs_no_torch():
    from core.device import gpu_driver

    if gpu_driver() is not None:
        pytest.skip("this machine has a GPU driver: torch is how its device is known")
    # the Attention and Generate pages ask for it, and for the model memory budget, on their first render
    assert heavy_after("from core.device import default_device\nassert default_device() == 'cpu'\n"
                       "from core.device import default_dtype\ndefault_dtype('cpu', 'causal')\n"
                       "from core.models import CACHE\nassert CACHE.budget > 0") == set()
