"""`python -m core.finetune`: one run from the command line, also under ``accelerate launch``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from core.errors import UserError
from core.finetune.config import KIND, FinetuneConfig
from core.finetune.train import run
from core.jobs import Cancelled
from core.workspace import Workspace


class _Console:
    """A JobContext for the terminal: progress lines (at most one a second), the log; never cancelled."""

    cancelled = False

    def __init__(self, quiet: bool):
        self.quiet, self._last = quiet, 0.0

    def progress(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if not self.quiet and message and (now - self._last >= 1.0 or fraction >= 1.0):
            self._last = now
            print(f"[{fraction:4.0%}] {message}", flush=True)

    def metric(self, **values) -> None: ...

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def partial(self, value) -> None: ...

    def check_cancelled(self) -> None: ...


def main(argv=None) -> int:
    """``python -m core.finetune --corpus ID --config JSON [--workspace PATH] [--device cpu]``."""
    parser = argparse.ArgumentParser(prog="python -m core.finetune", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="corpus artifact id")
    parser.add_argument("--config", default="{}", help="FinetuneConfig as JSON, e.g. '{\"method\": \"lora\"}'")
    parser.add_argument("--workspace", help="workspace folder (default: $CORPUS_LAB_HOME or ./workspace)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args(argv)
    main_process = int(os.environ.get("RANK", "0")) == 0
    ws = Workspace(args.workspace) if args.workspace else Workspace.from_env()
    try:
        try:
            config = FinetuneConfig.from_dict(json.loads(args.config))
        except (ValueError, TypeError) as exc:
            raise UserError(f"--config is not a FinetuneConfig in JSON ({exc}).") from None
        manifest = run(ws, args.corpus, config, _Console(quiet=not main_process), device=args.device)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("Cancelled; the last checkpoint is kept, so running it again resumes.", file=sys.stderr)
        return 130
    if main_process:
        m = manifest.metrics
        print(f"Saved {KIND}/{manifest.id} ({manifest.name}): validation perplexity {m['val_ppl_before']:,.2f} → "
              f"{m['val_ppl_after']:,.2f}; use it as finetune:{manifest.id}", flush=True)
    _leave_process_group()
    return 0


def _leave_process_group() -> None:
    """Under ``accelerate launch``: wait for every process, then close the group Trainer opened. A process
    that exits with it open can abort in torch's C++ teardown ("terminate called without an active
    exception": seen once on the second process, after the run had finished and saved)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
