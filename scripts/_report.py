"""Write one script's section of BENCHMARKS.md, keeping the other scripts' sections."""

from __future__ import annotations

import re
from pathlib import Path

from facenmf import atomic_write


def write_section(path: Path, name: str, text: str) -> None:
    """Replace the ``<!-- BEGIN name -->`` ... ``<!-- END name -->`` block (or append it).

    Written to a temporary file beside ``path`` and renamed into place.
    """
    path = Path(path)
    block = f"<!-- BEGIN {name} -->\n{text.rstrip()}\n<!-- END {name} -->\n"
    old = path.read_text() if path.exists() else "# facenmf benchmarks\n\n"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->\n?",
                         re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else old.rstrip() + "\n\n" + block
    with atomic_write(path, "w") as fh:
        fh.write(new)
