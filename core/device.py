"""Which compute device this process has (cuda → mps → cpu) and which number formats suit it.

One function, ``default_device``, makes the cuda → mps → cpu check; the sidebar's description
(``device_info``), the model loader and GloVe's trainer all ask it, so they never disagree.

    >>> default_device(), default_dtype("cpu", "causal"), dtype_choices("cpu", "encoder")
    ('cpu', 'bfloat16', ['float32', 'bfloat16'])       # on a CPU with native bf16
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

DTYPES = {"float32": 4, "bfloat16": 2, "float16": 2}  # the number formats a model loads in, and bytes per value


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda", "mps" or "cpu"
    name: str
    free_bytes: int | None = None
    total_bytes: int | None = None

    def describe(self) -> str:
        if self.free_bytes is None or not self.total_bytes:
            return f"{self.kind.upper()} · {self.name}"
        return f"{self.kind.upper()} · {self.name} · {self.free_bytes / 2**30:.1f} of {self.total_bytes / 2**30:.1f} GiB free"


def share_cpu_politely() -> bool:
    """Make torch's OpenMP threads sleep, not spin, while they wait for each other; call it before torch
    is imported (the runtime reads ``OMP_WAIT_POLICY`` once, when it loads). False when too late.

    By default a thread that reaches a barrier first spins for its partner. With as many threads as
    cores and anything else runnable (other sessions' reruns, a browser, another job), the partner
    waits for a core the spinner holds. Five browser sessions generating on 2 cores: the last one's
    first text after 58 s spinning, 19 s sleeping (tests/e2e/test_many_sessions.py); alone, sleeping
    costs about a tenth of the tokens/s (bench/generation.py: 13.5 → 12.3 short, 11.4 → 9.6 long).
    A server is shared, so it sleeps. An explicit ``OMP_WAIT_POLICY`` in the environment is kept.
    """
    if "torch" in sys.modules:
        return False
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return True


def resident_bytes() -> int:
    """This process's resident memory: the server's, models and every session's data included."""
    import psutil

    return psutil.Process().memory_info().rss


def trim_heap() -> None:
    """Hand freed heap pages back to the system (glibc only). A model's many small tensors are
    freed into malloc's arenas, not to the system: without this the sidebar's resident memory
    stayed ~550 MB high after unloading SmolLM2 and a fine-tune (bench/memory.py)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


@functools.cache
def _libc():
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6")  # glibc by name: find_library would start a subprocess
    except OSError:
        return None


def gpu_driver() -> str | None:
    """The accelerator this machine may have, judged without torch: "CUDA", "ROCm", "MPS" or None."""
    if Path("/proc/driver/nvidia/version").exists() or any(Path("/dev").glob("nvidia[0-9]*")) \
            or Path("/dev/dxg").exists():  # WSL2 reaches the Windows GPU driver through /dev/dxg
        return "CUDA"
    if Path("/dev/kfd").exists():
        return "ROCm"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "MPS"
    return None


def default_device() -> str:
    """``"cuda"`` when an NVIDIA GPU is usable, else ``"mps"`` on Apple silicon, else ``"cpu"``.

    Without a GPU driver there is nothing for torch to find: "cpu" without importing it (~1.3-3 s,
    which the Attention and Generate pages' first render paid just to learn that)."""
    if "torch" not in sys.modules and gpu_driver() is None:
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_info() -> DeviceInfo:
    """The default device, described for people (the sidebar)."""
    import torch

    kind = default_device()
    if kind == "cuda":
        free, total = torch.cuda.mem_get_info()
        return DeviceInfo("cuda", torch.cuda.get_device_name(), free, total)
    if kind == "mps":
        return DeviceInfo("mps", "Apple GPU")
    return DeviceInfo("cpu", f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads")


# x86: what oneDNN needs for its bf16 kernels (AVX-512 core), or AVX-NE-CONVERT; ARM: the BF16 extension
_BF16_X86 = ({"avx512f", "avx512bw", "avx512vl", "avx512dq"}, {"avx_ne_convert"})


@functools.cache
def cpu_has_bf16() -> bool:
    """True where the CPU has fast bf16 kernels (what ``torch.ops.mkldnn._is_mkldnn_bf16_supported`` says).

    On Linux read from /proc/cpuinfo, so the Attention and Generate pages can choose a dtype on their
    first render without importing torch (~1.3-3 s); decided once per process, so a model's cache key
    never changes under it."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        info = ""
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags = set(value.split())
            return any(need <= flags for need in _BF16_X86) or "bf16" in flags
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def default_dtype(device: str, kind: str = "causal") -> str:
    """bf16 on GPUs that have it and, on CPUs with native bf16, for causal models; fp32 otherwise.

    Measured on 2 AMD EPYC cores with AVX512-BF16 (bench/models.py): SmolLM2-135M decodes at
    ~28 tok/s in bf16 against ~17 in fp32, a 128-token forward takes 180 ms against 360, and
    perplexity moves by <1%. Encoders stay fp32 on CPU: they are small and fast either way, and
    the Attention page's weights and contextual vectors should not be rounded to 3 digits
    (bf16 attention rows sum to 1 ± 0.003).
    """
    if device == "cuda":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if device == "cpu" and kind == "causal" and cpu_has_bf16():
        return "bfloat16"
    return "float32"


def dtype_choices(device: str, kind: str = "causal") -> list[str]:
    """The dtypes worth offering on a device, default first."""
    import torch

    choices = ["float32"]
    if device == "cuda":
        choices += (["bfloat16"] if torch.cuda.is_bf16_supported() else []) + ["float16"]
    elif device == "mps":
        choices += ["float16"]
    elif cpu_has_bf16():
        choices += ["bfloat16"]
    default = default_dtype(device, kind)
    return [default] + [c for c in choices if c != default]
