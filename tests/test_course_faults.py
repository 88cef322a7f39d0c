"""Course-side faults fail closed: when the course's own helper, data or given cells fail, no part is
scored `failed`; what a fault may have cost is `needs_review` with the reason, which reaches the
report, the instructor's table and needs_review.csv. A batch refuses to start when the course cannot
grade correctly (preflight); `--no-preflight` grades anyway, still failing closed.

Scenarios: the repository copied elsewhere after the venv was built (the venv's editable install
points at the original), a helper the sandbox cannot see, a corrupted data file, a broken helper
import (a notebook importing a missing name; a helper package that raises on import)."""
import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, full_scores, grade, scores
from grader import bwrap, course, grading, preflight, sandbox
from grader.nbgrader_run import nbgrader
from grader.sandbox import choose_sandbox

T = "11_transfer_learning"          # graded 0/9 from a copied repository before the fix
NAME = course.source_notebook(T).name
PRETRAINED = "pretrained_digits_cnn.pt"


def reference(assignment=T):
    return copy.deepcopy(course.read_notebook(course.source_notebook(assignment)))


def setup_cell(nb):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "from coursekit import" in c.source)


def with_missing_import(nb):
    """The setup cell imports a name coursekit does not have (a broken helper import)."""
    i = setup_cell(nb)
    nb.cells[i].source = nb.cells[i].source.replace("from coursekit import (", "from coursekit import (no_such_helper, ")
    assert "no_such_helper" in nb.cells[i].source
    return nb


def corrupted_data(root: Path) -> Path:
    data = root / "data"
    shutil.copytree(REPO / "data", data)
    blob = bytearray((data / PRETRAINED).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (data / PRETRAINED).write_bytes(bytes(blob))
    return data


def assert_fails_closed(report, needle):
    """Nothing failed; every part not passed is needs_review naming the fault; the fault is recorded."""
    statuses = {p.part: p.status for p in report.parts}
    assert grading.FAILED not in statuses.values(), statuses
    assert report.course_faults and any(needle in f for f in report.course_faults), report.course_faults
    for p in report.parts:
        if p.status != grading.PASSED:
            assert p.status == grading.REVIEW and "course fault" in p.reason and p.score == 0, p


def write(root, student, nb, assignment=T):
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    course.nbformat.write(nb, str(folder / course.source_notebook(assignment).name))


def run(args, cwd=REPO, **env):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=dict(os.environ, **env),
                          capture_output=True, text=True, timeout=900)


# -- where the sandbox finds the helper and the data ---------------------------------------------
def test_the_sandbox_shows_the_helper_and_data_wherever_they_are(tmp_path, monkeypatch):
    helper = sandbox.course_helper()
    assert helper.package == (REPO / "coursekit").resolve() and helper.data == (REPO / "data").resolve()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    # a helper installed elsewhere (another checkout, site-packages): found where this Python imports it
    elsewhere = tmp_path / "site" / "coursekit"
    shutil.copytree(REPO / "coursekit", elsewhere, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.delitem(sys.modules, "coursekit", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    helper = sandbox.course_helper()
    assert helper.package == elsewhere.resolve() and helper.data == (tmp_path / "data").resolve()
    # without filesystem isolation the kernel is told where the data are; bubblewrap shows them where
    # the helper looks by default (nothing in the kernel's environment names the course)
    assert sandbox.Sandbox().helper_env(helper) == {"PYTHONPATH": str(elsewhere.parent.resolve()),
                                                    "COURSE_DATA_DIR": str((tmp_path / "data").resolve())}
    (tmp_path / "site" / "data").mkdir()
    assert bwrap.BubblewrapSandbox().helper_env(helper) == {"PYTHONPATH": str(elsewhere.parent.resolve())}
    mounts = bwrap.BubblewrapSandbox().mounts(tmp_path / "w", tmp_path / "h")
    binds = {(mounts[i + 1], mounts[i + 2]) for i, a in enumerate(mounts) if a == "--ro-bind"}
    assert (str(elsewhere.resolve()), str(elsewhere.resolve())) in binds
    assert (str((tmp_path / "data").resolve()), str((tmp_path / "site" / "data").resolve())) in binds
    assert not any(str(REPO / "coursekit") in pair for pair in binds)


def test_course_cells_are_told_apart_from_the_students():
    nb = reference()
    sources = grading.course_cell_sources(nb)
    err = [{"output_type": "error", "ename": "NameError", "evalue": "name 'x' is not defined", "traceback": []}]
    given, solution = nb.cells[setup_cell(nb)], next(c for c in nb.cells if course.nbgrader_meta(c).get("solution"))
    assert "given by the course" in grading.cell_fault(1, given, err, sources)
    assert grading.cell_fault(5, solution, err, sources) == ""             # the student's own error
    edited = copy.deepcopy(given)
    edited.source += "\nx"
    assert grading.cell_fault(1, edited, err, sources) == ""               # a course cell they edited is theirs
    data_err = [{"output_type": "error", "ename": "DataError", "evalue": "does not match", "traceback": []}]
    assert "course data failed" in grading.cell_fault(5, solution, data_err, sources)
    assert grading.check_fault("`f` raised DataError: x.pt does not match its checksum")
    assert grading.check_fault("`f` raised ValueError: bad shape") == ""


# -- the single scoring path (nbgrader's autograde, autograde and check all end here) ---------------
def test_parts_before_a_failing_course_cell_keep_their_score(tmp_path, monkeypatch):
    """The first failing course cell puts the parts at or after it under review (unless they passed);
    parts before it are scored as usual."""
    A = "01_multinomial_regression"
    nb = reference(A)
    nb.cells.append(course.nbformat.v4.new_code_cell(
        "def softmax_regression_loss(W, b, X, y, reg=0.0):\n    return 0.0, 0 * W, 0 * b\n\n"
        "def standardize(X, mean, std):\n    return X\n"))
    cut = next(i for i, c in enumerate(nb.cells) if course.nbgrader_meta(c).get("grade_id") == "binary_logistic")
    real = grading.execute_student_cells

    def with_fault(*args, **kwargs):
        stopped, faults = real(*args, **kwargs)
        return stopped, faults + [(cut, "course fault: injected at the binary_logistic cell")]
    monkeypatch.setattr(grading, "execute_student_cells", with_fault)
    status = {p.part: (p.status, p.reason) for p in grade(nb, A, tmp_path, seed=1).parts}
    assert status["softmax_regression"] == (grading.FAILED, "")            # before the fault: the student's
    assert status["softmax"][0] == status["cross_entropy"][0] == grading.PASSED
    assert status["binary_logistic"][0] == grading.PASSED                  # passed: a fault cannot fake that
    assert status["standardize"] == (grading.REVIEW, "course fault: injected at the binary_logistic cell")


def test_a_helper_the_sandbox_cannot_see_gives_review_not_failed(tmp_path, monkeypatch):
    """The bug of a copied repository: the kernel's Python imports coursekit from a folder the sandbox
    does not show. Simulated by a helper found elsewhere that the kernel is not pointed at."""
    elsewhere = tmp_path / "elsewhere" / "coursekit"
    shutil.copytree(REPO / "coursekit", elsewhere, ignore=shutil.ignore_patterns("__pycache__"))
    real = sandbox.course_helper()
    monkeypatch.setattr(sandbox, "course_helper", lambda: sandbox.Helper(elsewhere, real.data, False, ""))
    report = grade(reference(), T, tmp_path, seed=2)
    if report.sandbox != "bubblewrap" or scores(report) == full_scores(T):
        # without bubblewrap the kernel sees every file, so it imports the helper anyway
        assert scores(report) == full_scores(T)
        return
    assert_fails_closed(report, "could not import the course helper")
    assert all(p.status == grading.REVIEW for p in report.parts)


def test_a_corrupted_data_file_gives_review_not_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(corrupted_data(tmp_path)))
    problems = preflight.environment_problems()
    assert len(problems) == 1 and PRETRAINED in problems[0] and "COURSE_DATA_DIR" in problems[0]
    report = grade(reference(), T, tmp_path, seed=3)
    assert_fails_closed(report, PRETRAINED)
    assert any(p.status == grading.REVIEW for p in report.parts)   # the pretrained model is used by checks


def test_a_broken_helper_import_gives_review_not_failed(tmp_path):
    report = grade(with_missing_import(reference()), T, tmp_path, seed=4)
    assert_fails_closed(report, "no_such_helper")
    assert all(p.status == grading.REVIEW for p in report.parts)   # make_model is defined after the import


def test_a_helper_that_fails_to_import_is_caught_before_and_during_grading(tmp_path, monkeypatch):
    broken = tmp_path / "site" / "coursekit"
    shutil.copytree(REPO / "coursekit", broken, ignore=shutil.ignore_patterns("__pycache__"))
    (broken / "__init__.py").write_text("raise ImportError('this coursekit is broken')\n")
    real = sandbox.course_helper()
    monkeypatch.setattr(sandbox, "course_helper",
                        lambda: sandbox.Helper(broken, real.data, False, str(broken.parent)))
    problems = preflight.probe(choose_sandbox())
    assert len(problems) == 1 and "this coursekit is broken" in problems[0] and "pip install -e" in problems[0]
    report = grade(reference(), T, tmp_path, seed=5)
    assert_fails_closed(report, "given by the course")
    assert all(p.status == grading.REVIEW for p in report.parts)


# -- the three ways of grading: autograde, check, plain nbgrader autograde ------------------------
@pytest.mark.slow
def test_a_copied_repository_grades_the_reference_in_full(tmp_path):
    """The repository copied elsewhere after the venv was built (its editable install points here):
    the preflight passes and the reference earns full marks."""
    copied = tmp_path / "course"
    shutil.copytree(REPO, copied, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".grader-work", "site", "__pycache__", ".pytest_cache", "*.egg-info"))
    subs, work = tmp_path / "subs", tmp_path / "work"
    write(subs, "ref", reference())
    proc = run(["autograde", str(subs), "--workers", "1"], cwd=copied, COURSE_WORK_DIR=str(work))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "preflight:" in proc.stdout
    report = json.loads((work / "reports" / T / "ref.json").read_text())
    assert {p["part"]: p["score"] for p in report["parts"]} == full_scores(T), report
    assert not report["course_faults"]


@pytest.mark.slow
def test_autograde_refuses_then_fails_closed(tmp_path):
    data = corrupted_data(tmp_path)
    subs, work = tmp_path / "subs", tmp_path / "work"
    write(subs, "ref", reference())
    write(subs, "broken", with_missing_import(reference()))
    proc = run(["autograde", str(subs)], COURSE_WORK_DIR=str(work), COURSE_DATA_DIR=str(data))
    assert proc.returncode == 2 and "PREFLIGHT FAILED" in proc.stderr and PRETRAINED in proc.stderr
    assert "What to do" in proc.stderr and "Traceback" not in proc.stderr
    assert not (work / "reports").exists()                                  # nothing was scored
    proc = run(["autograde", str(subs), "--no-preflight"], COURSE_WORK_DIR=str(work), COURSE_DATA_DIR=str(data))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for student in ("ref", "broken"):
        report = json.loads((work / "reports" / T / f"{student}.json").read_text())
        assert "failed" not in {p["status"] for p in report["parts"]}, report
        assert any(p["status"] == "needs_review" for p in report["parts"])
    table = proc.stdout[proc.stdout.index("why review"):]
    assert "ref" in table and "broken" in table and PRETRAINED in table
    with open(work / "needs_review.csv") as fh:
        review = list(csv.DictReader(fh))
    assert {r["student"] for r in review} == {"ref", "broken"}
    assert all("course fault" in r["reason"] for r in review)
    assert any(PRETRAINED in r["reason"] for r in review if r["student"] == "ref")


@pytest.mark.slow
def test_check_refuses_then_fails_closed(tmp_path):
    data = corrupted_data(tmp_path)
    path = tmp_path / NAME
    course.nbformat.write(reference(), str(path))
    proc = run(["check", str(path)], COURSE_DATA_DIR=str(data))
    assert proc.returncode == 2 and "PREFLIGHT FAILED" in proc.stderr and PRETRAINED in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run(["check", str(path), "--no-preflight"], COURSE_DATA_DIR=str(data))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "REVIEW" in proc.stdout and "FAIL " not in proc.stdout and "COURSE FAULT" in proc.stdout
    assert PRETRAINED in proc.stdout


@pytest.mark.slow
def test_plain_nbgrader_autograde_fails_closed(tmp_path):
    """nbgrader autograde with the course config (no preflight there): needs review, never failed."""
    work = tmp_path / "work"
    nbgrader("generate_assignment", T, "--force", f"--CourseDirectory.release_directory={work / 'release'}", work=work)
    write(work / "submitted", "broken", with_missing_import(reference()))
    proc = nbgrader("autograde", T, "--force", work=work, check=False, quiet=False)
    report = json.loads((work / "reports" / T / "broken.json").read_text())
    assert {p["status"] for p in report["parts"]} == {"needs_review"}, proc.stderr[-3000:]
    assert all("no_such_helper" in p["reason"] for p in report["parts"])
    assert "course fault" in proc.stderr
