"""The sampling controls: a preset to start from, every knob of ``GenerationConfig`` to change."""

from __future__ import annotations

import streamlit as st

from core.generation import MAX_NEW_TOKENS, PRESETS, GenerationConfig
from ui.permalink import clamp

STRATEGIES = {"greedy": "Greedy (always the likeliest)", "sample": "Sampling", "beam": "Beam search"}
_RANGES = {"max_new_tokens": (1, MAX_NEW_TOKENS), "seed": (0, 2**31 - 1), "num_beams": (2, 16),
           "temperature": (0.05, 2.0), "top_k": (0, 1000), "top_p": (0.05, 1.0), "repetition_penalty": (1.0, 2.0),
           "no_repeat_ngram_size": (0, 10)}
_FIELDS = ("max_new_tokens", "strategy", "temperature", "top_k", "top_p", "repetition_penalty",
           "no_repeat_ngram_size", "num_beams", "seed")


def _apply_preset(key: str) -> None:
    preset = PRESETS.get(st.session_state[f"{key}_preset"])
    if preset is not None:  # "custom" keeps whatever is set
        for name in _FIELDS:
            st.session_state[f"{key}_{name}"] = getattr(preset, name)


def settings_form(key: str, *, chat_available: bool, chat_default: bool) -> GenerationConfig:
    """Widgets under ``key`` (so two forms can sit side by side); returns the chosen config."""
    saved = st.session_state.get(f"{key}_saved")  # a non-widget copy of the last settings
    if any(f"{key}_{name}" not in st.session_state for name in _FIELDS):
        # First visit, another page in between, or widget state dropped by a run that ended early
        # (seen with five sessions streaming at once: the sliders came back at their minimum while
        # the caption still named the preset). Restore every knob, not just the missing ones.
        if saved:
            for name in _FIELDS:
                st.session_state[f"{key}_{name}"] = saved[name]
            st.session_state[f"{key}_preset"] = saved.get("preset", "custom")
        else:  # a first visit; knobs already set came from a link (ui.permalink): kept over the preset's
            linked = {name: st.session_state[f"{key}_{name}"] for name in _FIELDS if f"{key}_{name}" in st.session_state}
            preset = st.session_state.get(f"{key}_preset")
            st.session_state[f"{key}_preset"] = preset if preset in PRESETS else "balanced"
            _apply_preset(key)
            for name, value in linked.items():
                st.session_state[f"{key}_{name}"] = value
            if any(getattr(PRESETS[st.session_state[f"{key}_preset"]], name) != value for name, value in linked.items()):
                st.session_state[f"{key}_preset"] = "custom"
    for name, (lo, hi) in _RANGES.items():  # a link may carry any number; the widgets take only their range
        clamp(f"{key}_{name}", lo, hi)
    if st.session_state.get(f"{key}_strategy") not in STRATEGIES:
        st.session_state[f"{key}_strategy"] = "sample"
    st.segmented_control("Preset", [*PRESETS, "custom"], key=f"{key}_preset", on_change=_apply_preset, args=(key,),
                         help="precise: greedy, the same text every time · balanced: sampling at temperature 0.7 · "
                              "creative: temperature 1, nucleus 0.95. Changing any knob makes it your own.")
    if not chat_available:  # switched from a chat model: a toggle left on but disabled could not be turned off
        st.session_state[f"{key}_chat"] = False
    chat = st.toggle("Chat mode (the model's chat template)", value=chat_default and chat_available,
                     disabled=not chat_available, key=f"{key}_chat",
                     help="Wraps the prompt as a user turn, the way instruction-tuned models were trained. "
                          "Off: the model continues your text as it is." if chat_available else
                          "This model has no chat template, so it can only continue text.")
    system = ""
    with st.expander("Sampling settings", expanded=False):
        strategy = st.radio("Decoding", list(STRATEGIES), format_func=STRATEGIES.get, horizontal=True,
                            key=f"{key}_strategy")
        a, b, c = st.columns(3)
        max_new = a.number_input("Max new tokens", 1, MAX_NEW_TOKENS, key=f"{key}_max_new_tokens")
        seed = b.number_input("Seed", 0, 2**31 - 1, key=f"{key}_seed",
                              help="The same seed, settings and model give the same text.")
        beams = c.number_input("Beams", 2, 16, key=f"{key}_num_beams", disabled=strategy != "beam")
        sampling = strategy == "sample"
        temperature = a.slider("Temperature", 0.05, 2.0, key=f"{key}_temperature", disabled=not sampling,
                               help="Below 1 sharpens the distribution, above 1 flattens it.")
        top_k = b.number_input("Top-k (0 = off)", 0, 1000, key=f"{key}_top_k", disabled=not sampling)
        top_p = c.slider("Top-p (nucleus)", 0.05, 1.0, key=f"{key}_top_p", disabled=not sampling,
                         help="Sample only from the smallest set of tokens whose probabilities add up to p.")
        penalty = a.slider("Repetition penalty (1 = off)", 1.0, 2.0, key=f"{key}_repetition_penalty")
        ngram = b.number_input("No-repeat n-gram size (0 = off)", 0, 10, key=f"{key}_no_repeat_ngram_size")
        stops = c.text_input("Stop strings (separate with |)", "", key=f"{key}_stop",
                             help="Generation ends before the first of these; e.g. \\n\\n|User:")
        if chat:
            system = st.text_input("System message (optional)", "", key=f"{key}_system")
    config = GenerationConfig(
        max_new_tokens=int(max_new), strategy=strategy, temperature=float(temperature), top_k=int(top_k),
        top_p=float(top_p), repetition_penalty=float(penalty), no_repeat_ngram_size=int(ngram), num_beams=int(beams),
        stop=tuple(s.replace("\\n", "\n").replace("\\t", "\t") for s in stops.split("|") if s),
        seed=int(seed), chat=chat, system=system)
    st.session_state[f"{key}_saved"] = {**{name: getattr(config, name) for name in _FIELDS},
                                        "preset": st.session_state.get(f"{key}_preset")}
    preset = PRESETS.get(st.session_state.get(f"{key}_preset"))
    if preset is not None and any(getattr(preset, f) != getattr(config, f) for f in _FIELDS[1:-1]):  # the decoding knobs
        st.caption("Changed from the preset: " + config.label())
    return config
