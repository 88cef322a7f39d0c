"""coursekit.toolbox: the course-provided layers of notebook 12 agree with the reference solutions of
notebooks 02-10, and load_own_toolbox keeps a learner's working functions and replaces the others,
saying why."""
import json
import shutil

import numpy as np
import pytest

from conftest import REPO
from coursekit import toolbox
from coursekit.toolbox import SOURCES, _self_test, load_functions, load_own_toolbox
from grader import course, reference


@pytest.mark.parametrize("entry", sorted(SOURCES))
def test_course_toolbox_agrees_with_the_reference_solutions(entry):
    folder, fwd, bwd = SOURCES[entry]
    ref = reference.load(folder)
    value = (getattr(ref, fwd), getattr(ref, bwd)) if bwd else getattr(ref, fwd)
    assert _self_test(entry, value) == "", f"the course {entry} differs from solutions/{folder}"


def test_solved_notebooks_fill_the_own_toolbox():
    report = load_own_toolbox(course.SOLUTIONS, name="own_test", verbose=False)
    assert all(v.startswith("yours") for v in report.values()), report
    assert toolbox("own_test")["conv"][0].__module__ != "coursekit.toolbox"


def test_unsolved_or_broken_notebooks_fall_back_to_the_course(tmp_path):
    report = load_own_toolbox(course.NOTEBOOKS, name="own_release", verbose=False)
    assert all(v.startswith("course-provided") for v in report.values()), report
    assert toolbox("own_release")["conv"] == toolbox("course")["conv"]
    # A wrong relu (leaky) in an otherwise solved notebook 02: relu falls back, affine stays the learner's.
    src = course.source_notebook("02_backprop")
    (tmp_path / "02_backprop").mkdir()
    nb = json.loads(src.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu_code":
            cell["source"] = "".join(cell["source"]) + "\n\ndef relu_forward(x):\n    return np.where(x > 0, x, 0.1 * x), x\n"
    (tmp_path / "02_backprop" / src.name).write_text(json.dumps(nb))
    report = load_own_toolbox(tmp_path, name="own_broken", verbose=False)
    assert report["relu"].startswith("course-provided") and "differs" in report["relu"], report["relu"]
    assert report["affine"].startswith("yours"), report["affine"]
    assert report["conv"].startswith("course-provided") and "not found" in report["conv"]


def test_load_functions_runs_no_experiment_and_reports_missing_names(tmp_path):
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade": False, "grade_id": "f_code"}},
         "source": "def f(x):\n    return x + 1\n"},
        {"cell_type": "code", "metadata": {"tags": ["experiment"]}, "source": "raise SystemExit('ran an experiment')"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "f"}},
         "source": "assert False"},
        {"cell_type": "code", "metadata": {}, "source": "def g(:\n"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    fns, problems = load_functions(path, ["f", "h"])
    assert fns["f"](1) == 2
    assert problems["h"] == "not defined" and problems["cell 3"] == "raised SyntaxError"
    assert load_functions(tmp_path / "missing.ipynb", ["f"])[1] == {"f": "missing.ipynb not found"}
