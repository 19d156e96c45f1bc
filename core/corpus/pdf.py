"""PDF text extraction in a child process with a time limit and a memory cap.

pypdf is pure Python and a crafted PDF can make it loop or allocate without end, so it
never runs in the app's process: a worker reads the PDF from stdin and prints JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def extract_pdf_pages(data: bytes, *, name: str, timeout: float = 60.0, max_memory: int = 2 << 30) -> list[str]:
    """Text of each page. Raises UserError for encrypted, broken or too-costly PDFs."""

    def limit_memory() -> None:  # runs in the child before exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "core.corpus.pdf"],
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=ROOT,
            preexec_fn=limit_memory if sys.platform != "win32" else None,
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"{name}: reading this PDF took longer than {timeout:.0f} s, so it was stopped.") from None
    try:
        reply = json.loads(proc.stdout or b"{}")
    except ValueError:
        reply = {}
    if "pages" in reply:
        return reply["pages"]
    if reply.get("error"):
        raise UserError(f"{name}: {reply['error']}")
    if b"MemoryError" in proc.stderr:
        raise UserError(f"{name}: this PDF needed more than {max_memory >> 20} MiB to read, so it was stopped.")
    raise UserError(f"{name}: this PDF could not be read (the reader stopped with code {proc.returncode}).")


def _worker() -> None:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.disable(logging.WARNING)  # pypdf warns on every odd object; the user gets one message
    try:
        reader = PdfReader(io.BytesIO(sys.stdin.buffer.read()))
        if reader.is_encrypted and not reader.decrypt(""):
            out = {"error": "this PDF is encrypted with a password; save an unprotected copy and upload that."}
        else:
            out = {"pages": [page.extract_text() or "" for page in reader.pages]}
    except MemoryError:
        out = {"error": "this PDF needs more memory to read than Corpus Lab allows, so it was stopped."}
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        out = {"error": f"this PDF is damaged or truncated ({type(exc).__name__}: {exc})."}
    except Exception as exc:  # pypdf raises many kinds; any of them means "cannot read"
        message = str(exc)
        if "password" in message.lower() or "encrypt" in message.lower():
            out = {"error": "this PDF is encrypted and cannot be read without its password."}
        else:
            out = {"error": f"this PDF could not be read ({type(exc).__name__}: {message})."}
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    _worker()
