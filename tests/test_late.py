"""A submission after the due date (nbgrader's timestamp.txt) scores zero and says why."""
import csv
import json
import os
import subprocess
import sys

import pytest

import submissions as S
from conftest import REPO, full_scores


@pytest.mark.slow
def test_late_submission_scores_zero_with_a_reason(tmp_path):
    root, work = tmp_path / "subs", tmp_path / "work"
    for student, stamp in (("early", "2026-11-30 12:00:00.000000 UTC"), ("late", "2026-12-02 09:30:00.000000 UTC")):
        path = S.write(root, student, S.solution())
        (path.parent / "timestamp.txt").write_text(stamp)
    env = dict(os.environ, COURSE_WORK_DIR=str(work))
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(root), "--due",
                           "2026-12-01T17:00:00+00:00"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(work / "grades.csv") as fh:
        grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert grades == {"early": sum(full_scores(S.A).values()), "late": 0.0}
    report = json.loads((work / "reports" / S.A / "late.json").read_text())
    assert report["score"] == 0 and all("due date" in p["reason"] for p in report["parts"])
    assert "late" in (work / "needs_review.csv").read_text()
