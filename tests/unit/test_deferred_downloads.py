"""Every download button whose file is made when clicked (a callable as its data) must not rerun the page.

Streamlit registers such a callable under a new id on every run. A click sends the browser's request for the
file and, by default, a rerun; the rerun drops the session's reference to the old id, and the next script run
to end anywhere on the server (another viewer's, a fragment's) deletes it. When that came before the request
was served, the file never came and the button stayed disabled (seen in the report flow under the full suite's
load, twice in three runs). ``on_click="ignore"`` sends no rerun, so the id the browser asks for stays valid."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deferred_download_buttons() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted([*ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                data = next((k.value for k in node.keywords if k.arg == "data"), node.args[1] if len(node.args) > 1 else None)
                if isinstance(data, ast.Lambda) or (isinstance(data, ast.Name) and data.id in functions):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def test_deferred_download_buttons_do_not_rerun_the_page():
    buttons = deferred_download_buttons()
    assert len(buttons) >= 8  # the report, the bundle, the map's CSV and HTML, vectors, the corpus, fine-tune, attention
    rerunning = [f"{path}:{line}" for path, line, call in buttons
                 if not any(k.arg == "on_click" and isinstance(k.value, ast.Constant) and k.value.value == "ignore"
                            for k in call.keywords)]
    assert rerunning == []
