"""5,000 mutated image files: the loader returns a clean image or a one-line ImageLoadError, never anything else,
and no case takes more than 2 s (the long run: scripts/fuzz_images.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz_images.py"


def test_mutation_fuzz_5000_cases(tmp_path):
    spec = importlib.util.spec_from_file_location("fuzz_images", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.fuzz(5000, seed=1, max_seconds=2.0, out=tmp_path / "failures")
    assert report["failures"] == []
    assert report["cases"] == 5000
    # the mutations exercise both outcomes substantially
    assert report["loaded"] > 500 and report["refused"] > 500
