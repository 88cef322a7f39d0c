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
    # execute, kernel CPU, slowest cell, peak MiB, grade, check total, check start-up, grade/execute, then the score
    assert re.search(r"01_multinomial_regression(\s+[\d.]+){8}\s+(\d+)/\2\s", out), out  # full marks
    assert re.search(r"the 1 notebook named, executed: [\d.]+ s", out), out
    assert re.search(r"slowest cell: [\d.]+ s, 01_multinomial_regression cell \d+", out), out
    assert re.search(r"check start-up .*: median [\d.]+ s", out), out
    assert re.search(r"largest kernel peak: \d+ MiB \(01_multinomial_regression\); .* about \d+ students per 16 GiB", out), out
    for mode in ("autograde, 1 worker", "autograde, 2 workers", "stock nbgrader autograde, sequential"):
        assert re.search(re.escape(mode) + r"\s+[\d.]+\s+[\d.]+", out), out
    assert re.search(r"parallel efficiency with 2 workers: [\d.]+ .*target >= 0.9: (met|NOT met)", out), out
    assert re.search(r"01_multinomial_regression(\s+[\d.]+){8}\s+\d+/\d+\s+(met|NOT met)", out), out
    assert re.search(r"whole `autograde --workers 1` command against bare execution: [\d.]+ \(target <= 0.5: "
                     r"(met|NOT met)\)", out), out
    assert re.search(r"its phases \(s\): release [\d.]+, probe [\d.]+, verification [\d.]+, grading [\d.]+, "
                     r"feedback [\d.]+", out), out
    assert "verification, within grading: the references graded because a submission lost a part, none" in out
    assert re.search(rf"this machine has {os.cpu_count()} core", out), out
    for workers in (2, 16, 64):  # the projected class: minutes per phase, then the total in minutes and hours
        assert re.search(rf"^{workers}\s+([\d.]+\s+){{5}}[\d.]+\s*$", out, re.M), out
    assert not (REPO / "gradebook.db").exists()


def test_the_projection_spreads_notebooks_over_workers_and_keeps_the_serial_phases():
    from grader import cli
    measured = {"notebooks": 2, "task_s": {"a": [4.0], "b": [2.0]}, "release_s": 5.0, "probe_s": 3.0,
                "feedback_s": 0.0, "export_s": 0.5}
    rows = {w: rest for w, *rest in cli.project_class(measured, ["a", "b"], students=10, workers=(1, 2, 20))}
    release, verification, grading, end, total = zip(*(rows[w] for w in (1, 2, 20)))
    # one worker: every notebook in turn; two: half each (60 s of work); twenty: one notebook each at most
    assert grading == (60.0, 30.0, 4.0)
    # no reference was verified in the measured run (nobody lost a part): in a large class every one is,
    # once, costing what grading a complete submission of its assignment cost
    assert verification == (6.0, 4.0, 4.0)
    assert release == (5.0,) * 3 and end == (5.0,) * 3  # the release once (the probe during it); the export per student
    assert total == (5.0 + 6.0 + 60.0 + 5.0, 5.0 + 4.0 + 30.0 + 5.0, 5.0 + 4.0 + 4.0 + 5.0)
    # a measured verification is used where there is one
    measured["verified"] = {"a": 1.0}
    assert [row[2] for row in cli.project_class(measured, ["a", "b"], students=10, workers=(1, 2))] == [3.0, 2.0]
    measured["probe_s"] = 7.0                           # a probe longer than the release sets that phase
    assert cli.project_class(measured, ["a", "b"], students=10, workers=(1,))[0][1] == 7.0
    assert cli.makespan([3, 3, 2, 2, 2], 2) == 7.0
