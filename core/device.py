"""Which compute device this process has: cuda → mps → cpu, described for people."""

from __future__ import annotations

from dataclasses import dataclass


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


def device_info() -> DeviceInfo:
    import torch

    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        return DeviceInfo("cuda", torch.cuda.get_device_name(), free, total)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return DeviceInfo("mps", "Apple GPU")
    import os

    return DeviceInfo("cpu", f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads")
