"""The measured numbers the docs show in generated blocks are what their results files and shipped files give
(``benchmarks/docs_numbers.py``): a block that drifted from its source fails here, naming it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_numbers", ROOT / "benchmarks" / "docs_numbers.py")
docs_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs_numbers)


def test_every_generated_block_is_current():
    assert docs_numbers.run(check=True) == []  # else: python benchmarks/docs_numbers.py, and commit


def test_a_changed_result_makes_its_block_stale_and_the_rewrite_puts_it_right(tmp_path):
    """Copies of README.md and docs/live-video.md (the peers table) and the sources of their blocks; a result
    changed in the source is caught, then rewritten into the block."""
    docs = {name: (ROOT / name).read_text() for name in ("README.md", "docs/live-video.md")}
    sources = {source for text in docs.values() for _, _, source, _, _ in docs_numbers.blocks(text)}
    assert {s.split("/")[0] for s in sources} >= {"benchmarks", "edge_landmarks"}
    for source in sources:
        src, dst = ROOT / source, tmp_path / source
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    for name, text in docs.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert docs_numbers.run(check=True, root=tmp_path) == []
    bench = tmp_path / next(src for text in docs.values() for _, kind, src, _, _ in docs_numbers.blocks(text)
                            if kind == "peers")
    rows = json.loads(bench.read_text())
    rows[0]["jitter_nmf"] = 9.876
    bench.write_text(json.dumps(rows))
    assert docs_numbers.run(check=True, root=tmp_path) == [f"docs/live-video.md: peers {bench.relative_to(tmp_path)}"]
    docs_numbers.run(check=False, root=tmp_path)
    assert "| 9.876 |" in (tmp_path / "docs" / "live-video.md").read_text()
    assert docs_numbers.run(check=True, root=tmp_path) == []
