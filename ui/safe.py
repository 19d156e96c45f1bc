"""Show user text as text. Streamlit's markdown would render `$x$`, `:red[x]` and image links
from a corpus or a file name, so anything user-made that goes into a markdown-rendering
call (st.error, st.success, st.caption, labels…) passes through ``md``."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$:<>~&=^\"'])")


def md(text: object) -> str:
    """Backslash-escape every markdown/directive character, so it renders literally."""
    return _SPECIAL.sub(r"\\\1", str(text))
