"""A non-editable install finds every shipped resource (weights, samples, colour maps) without the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_non_editable_install_finds_resources(tmp_path):
    site = tmp_path / "site"
    # build from a clean copy of the sources: an in-tree build/ folder could carry stale modules into the wheel
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", "build", "dist", "*.egg-info", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "tests",
        "bench", "docs", ".whl", ".gl"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert not (site / "smoothgrad_desktop" / "__editable__").exists()
    code = r"""
import sys, pathlib
import smoothgrad_desktop
from smoothgrad_desktop.core.resources import resource_path, sample_images
from smoothgrad_desktop.core import visualize
root = pathlib.Path(smoothgrad_desktop.__file__).parent
assert str(root).startswith(sys.argv[1]), root
for name in ("mnist_cnn.pt", "mnist_cnn_noise.pt", "mnist_cnn.json"):
    p = resource_path("weights", name)
    assert p.is_file() and str(p).startswith(sys.argv[1]), p
samples = sample_images()
assert len(samples) >= 13 and all(str(s).startswith(sys.argv[1]) for s in samples), samples
assert visualize.get_colormap("viridis").lut.shape == (256, 3)
from smoothgrad_desktop.cli import main
sys.exit(main(["self-test"]))
"""
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "self-test ok" in run.stdout
