"""The benchmark command runs and prints its tables (the figures themselves are reported in the
README from idle runs; timings are never asserted)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_bench_prints_its_tables(tmp_path):
    env = dict(os.environ, COURSE_WORK_DIR=str(tmp_path / "work"))
    proc = subprocess.run([sys.executable, "-m", "grader", "bench", "01_multinomial_regression", "--class-size", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # execute, kernel CPU, slowest cell, grade, check total, check start-up, grade/execute, then the score
    assert re.search(r"01_multinomial_regression(\s+[\d.]+){7}\s+(\d+)/\2\s", out), out  # full marks
    assert re.search(r"the 1 notebook named, executed: [\d.]+ s", out), out
    assert re.search(r"slowest cell: [\d.]+ s, 01_multinomial_regression cell \d+", out), out
    assert re.search(r"check start-up .*: median [\d.]+ s", out), out
    for mode in ("autograde, 1 worker", "autograde, 2 workers", "stock nbgrader autograde, sequential"):
        assert re.search(re.escape(mode) + r"\s+[\d.]+\s+[\d.]+", out), out
    assert re.search(r"parallel efficiency with 2 workers: [\d.]+", out), out
    assert not (REPO / "gradebook.db").exists()
