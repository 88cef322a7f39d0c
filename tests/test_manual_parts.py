"""Written answers graded by hand (nbgrader's manually graded answer cells): released as an empty answer
cell, never autograded, and listed by `python -m grader check` as "to grade by hand", never as failed."""
import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from grader import course

A = "04_initialization"


def test_written_answers_are_released_empty_and_are_not_autograded_parts():
    solution = course.read_notebook(course.source_notebook(A))
    release = course.read_notebook(course.NOTEBOOKS / A / course.source_notebook(A).name)
    assert course.manual_parts(solution) == course.manual_parts(release) == {"written_variance": 2.0}
    assert "written_variance" not in course.graded_parts(solution)
    cell = next(c for c in release.cells if course.is_manual_cell(c))
    assert cell.cell_type == "markdown" and not course.answered(cell)
    model = next(c for c in solution.cells if course.is_manual_cell(c))
    assert course.answered(model) and "Rubric" in model.source, "the source holds a model answer and its rubric"


@pytest.mark.slow
def test_check_lists_written_answers_to_grade_by_hand_never_failed(tmp_path, check_work):
    solution = course.read_notebook(course.source_notebook(A))
    answers = {course.nbgrader_meta(c).get("grade_id"): c.source for c in solution.cells}
    release = course.read_notebook(course.NOTEBOOKS / A / course.source_notebook(A).name)
    for cell in release.cells:   # every code part done, the written answer left empty
        gid = course.nbgrader_meta(cell).get("grade_id", "")
        if gid.endswith("_code"):
            cell.source = answers[gid]
    empty = tmp_path / "empty" / course.source_notebook(A).name
    empty.parent.mkdir()
    nbformat.write(release, str(empty))
    env = dict(os.environ, COURSE_WORK_DIR=str(check_work))
    proc = subprocess.run([sys.executable, "-m", "grader", "check", str(course.source_notebook(A)), str(empty)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    total = sum(course.graded_parts(solution).values())
    assert out.count(f"total: {total:g} / {total:g} graded automatically, plus 2 point(s) of written answers "
                     "to grade by hand") == 2, out
    assert re.search(r"written_variance\s+-/2\s+BY HAND\s+a written answer: your instructor grades it", out), out
    assert "a written answer, still empty: write it in its cell" in out, out
    assert "FAIL" not in out, out
