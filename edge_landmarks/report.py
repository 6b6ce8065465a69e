"""Plain-text and Markdown tables: safe to pipe, readable at 80 columns; and matplotlib, where it is installed."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table", "markdown_table", "pyplot", "NO_PLOTS"]

NO_PLOTS = "no plots: matplotlib is not installed (pip install 'edge-landmarks[train]')"
"""What a command says instead of drawing, in the core install (no matplotlib)."""


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or None where matplotlib is not installed (the core install:
    commands then write their numbers and say :data:`NO_PLOTS`)."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _is_number(text: str) -> bool:
    t = text.replace(",", "").replace("%", "").replace(" M", "").strip()
    try:
        float(t)
        return True
    except ValueError:
        return False


def format_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """Columns padded to width; numbers right-aligned, text left-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fmt(row: Sequence[str]) -> str:
        out = []
        for text, w in zip(row, widths, strict=True):
            out.append(text.rjust(w) if _is_number(text) or text == "-" else text.ljust(w))
        return "  ".join(out).rstrip()

    lines = [fmt(list(headers)), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
