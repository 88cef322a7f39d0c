"""The formgrader's Autograde button grades with the course's sandbox and hidden checks too."""
import json
import os
import subprocess
import sys

import pytest

import submissions as S
from conftest import REPO
from grader import course
from grader.cli import release


@pytest.mark.slow
def test_formgrader_autograde_uses_the_course_grader(tmp_path):
    work = tmp_path / "work"
    release([S.A], into=work / "release", work=work)
    cheat = S.with_cell(S.wrong_but_running(S.release()), "import numpy as np\nnp.allclose = lambda *a, **k: True\n")
    folder = work / "submitted" / "carol" / S.A
    folder.mkdir(parents=True)
    S.nbformat.write(cheat, str(folder / S.NAME))
    env = dict(os.environ, COURSE_WORK_DIR=str(work), JUPYTER_CONFIG_PATH=str(course.CONFIG.parent),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "formgrader_autograde.py"), str(REPO), S.A, "carol"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["result"]["success"], result
    report = json.loads((work / "reports" / S.A / "carol.json").read_text())
    assert report["score"] == 0 and all(p["status"] == "failed" for p in report["parts"])
    assert not (tmp_path / "gradebook.db").exists()  # no stray gradebook where the server runs
