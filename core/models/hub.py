"""The Hugging Face Hub: the local HF cache first, the network only when it can answer.

Without a network huggingface_hub retries for ~25 s before it fails, and its offline switch is
read once at import. So every Hub read goes through ``from_hub``: the cache, then (unless
``HF_HUB_OFFLINE`` is set now) one quick TCP connect, then the download; each failure ends in a
message that says what to do.

    >>> hub_config("gpt2").model_type          # from the HF cache, or downloaded once
    'gpt2'
    >>> hub_config("nobody/nothing")           # offline: UserError "... not in the Hugging Face cache ..."
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from core.errors import UserError


def offline() -> bool:
    # Read the variable now: huggingface_hub reads it only once, at import.
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"} or bool(constants.HF_HUB_OFFLINE)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect, because without a network huggingface_hub retries for ~25 s."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_message(model_id: str, reason: str) -> str:
    return (f"The model '{model_id}' is not in the Hugging Face cache on this computer, and {reason}. Connect to the "
            "internet (and unset HF_HUB_OFFLINE) to download it once, or choose a bundled model "
            "(SmolLM2-135M-Instruct, all-MiniLM-L6-v2) or a local folder.")


def from_hub(model_id: str, fetch: Callable[[bool], Any]) -> Any:
    """``fetch(local_files_only)`` from the HF cache first, then from the Hub when it can be reached."""
    try:
        return fetch(True)
    except OSError:
        pass
    if offline():
        raise UserError(_offline_message(model_id, "the app is offline (HF_HUB_OFFLINE=1)")) from None
    if not _hub_reachable():
        raise UserError(_offline_message(model_id, "the Hugging Face Hub cannot be reached")) from None
    try:
        return fetch(False)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"Could not get '{model_id}' from the Hugging Face Hub: {first}") from None


def hub_config(repo: str):
    """A Hub model's config (no weights), refused when it needs custom code."""
    from transformers import AutoConfig

    try:
        return from_hub(repo, lambda local: AutoConfig.from_pretrained(repo, local_files_only=local, trust_remote_code=False))
    except UserError:
        raise
    except ValueError as exc:  # e.g. a config that needs custom code
        raise UserError(f"'{repo}' cannot be loaded without running its own code ({exc}).") from None
