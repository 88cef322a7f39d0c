"""A notebook is recognised by what it is, not by its file name: JupyterLab's Duplicate
(`optimizers-Copy1.ipynb`) or a browser's second download (`optimizers (1).ipynb`) is matched to its
assignment by the nbgrader ids of its graded cells, graded, and reported as renamed; only a notebook
that matches no assignment is refused, with a clear message."""
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from grader import cli, course
from grader.submissions import collect, identify

OPT = "06_optimizers"


def release_path(assignment):
    return course.NOTEBOOKS / assignment / course.source_notebook(assignment).name


def release(assignment):
    return course.read_notebook(release_path(assignment))


@pytest.mark.parametrize("assignment", course.assignments())
def test_every_release_is_recognised_by_its_cells(assignment):
    assert identify(release_path(assignment)) == (assignment, "")


def test_a_student_who_deleted_some_cells_is_still_recognised():
    nb = release(OPT)
    graded = [i for i, c in enumerate(nb.cells) if course.nbgrader_meta(c).get("grade_id")]
    for i in reversed(graded[1:]):  # keep only the first graded cell
        del nb.cells[i]
    assert identify(nb)[0] == OPT


def test_a_notebook_of_no_assignment_is_refused_with_the_reason(tmp_path):
    nb = release(OPT)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)  # code pasted into a fresh notebook
    assignment, why = identify(nb)
    assert assignment is None and "matches no assignment" in why
    mixed = release(OPT)  # three graded cells of 06 and three of 01 in one notebook
    keep = {a: [c for c in release(a).cells if course.nbgrader_meta(c).get("grade_id")]
            for a in (OPT, "01_multinomial_regression")}
    mixed.cells = keep[OPT][:3] + keep["01_multinomial_regression"][:3]
    assignment, why = identify(mixed)
    assert assignment is None and "several assignments" in why


@pytest.mark.parametrize("name", ["optimizers-Copy1.ipynb", "optimizers (1).ipynb", "Untitled.ipynb"])
def test_collect_grades_a_renamed_notebook_and_says_so(tmp_path, name):
    folder = tmp_path / "alice" / OPT
    folder.mkdir(parents=True)
    shutil.copy(release_path(OPT), folder / name)
    found, problems = collect(tmp_path)
    assert found == {("alice", OPT): folder / name}
    assert len(problems) == 1 and problems[0].note and problems[0].assignment == OPT
    assert f"renamed from {name}" in problems[0].reason and "optimizers.ipynb" in problems[0].reason


def test_beside_the_original_the_renamed_copy_is_the_second_copy(tmp_path):
    folder = tmp_path / "bob"
    folder.mkdir()
    shutil.copy(release_path(OPT), folder / "optimizers.ipynb")
    shutil.copy(release_path(OPT), folder / "optimizers-Copy1.ipynb")
    found, problems = collect(tmp_path)
    assert found == {("bob", OPT): folder / "optimizers.ipynb"}
    assert [p.reason.split(";")[0] for p in problems] == ["is a second copy of this notebook"]


def test_collect_refuses_only_what_matches_nothing(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    nb = release(OPT)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    nbformat.write(nb, str(folder / "my_work.ipynb"))
    (folder / "broken (1).ipynb").write_text('{"cells": [ not json')
    found, problems = collect(tmp_path)
    assert found == {}
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in problems}
    assert "matches no assignment" in reasons["my_work.ipynb"] and not any(p.note for p in problems)
    assert "not valid JSON" in reasons["broken (1).ipynb"]


def test_check_finds_the_assignment_of_a_renamed_notebook(tmp_path):
    path = tmp_path / "optimizers (1).ipynb"
    shutil.copy(release_path(OPT), path)
    assert cli.assignment_of(path) == OPT
    bare = release(OPT)
    for cell in bare.cells:
        cell.metadata.pop("nbgrader", None)
    other = tmp_path / "mine.ipynb"
    nbformat.write(bare, str(other))
    with pytest.raises(SystemExit) as err:
        cli.assignment_of(other)
    assert str(err.value).startswith(f"{other}: matches no assignment") and "optimizers.ipynb" in str(err.value)


@pytest.mark.slow
def test_check_grades_a_renamed_notebook_and_says_it_was_renamed(tmp_path, check_work):
    path = tmp_path / "initialization-Copy1.ipynb"
    shutil.copy(course.source_notebook("04_initialization"), path)
    proc = subprocess.run([sys.executable, "-m", "grader", "check", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=900, env=dict(os.environ, COURSE_WORK_DIR=str(check_work)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "renamed: initialization-Copy1.ipynb is not the course's name" in proc.stdout
    assert "(assignment 04_initialization," in proc.stdout
    total = sum(course.graded_parts(course.read_notebook(course.source_notebook("04_initialization"))).values())
    assert f"total: {total:g} / {total:g}" in proc.stdout
