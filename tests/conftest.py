"""Shared helpers of the course's own test suite."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("MPLBACKEND", "Agg")
# One thread per test process for torch (OpenMP) and numpy (OpenBLAS), as in a grading kernel: the
# suite runs one process per core, the checks work on small tensors, and two threads per process on a
# busy machine spend most of their CPU waiting for each other (the in-process mutant checks took 20x
# the CPU). Set before numpy or torch is imported; subprocesses the tests start inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from grader import course, grading  # noqa: E402

ASSIGNMENTS = course.assignments()


def grade(nb, assignment, tmp_path, seed=None, **kwargs):
    """Grade a notebook node directly (the same scoring path nbgrader's autograde uses)."""
    workdir = Path(tmp_path) / f"work-{os.getpid()}-{id(nb)}"
    workdir.mkdir(parents=True, exist_ok=True)
    return grading.grade_notebook(nb, assignment, workdir=workdir, seed=seed, **kwargs)


def scores(report) -> dict[str, float]:
    return {p.part: p.score for p in report.parts}


def full_scores(assignment) -> dict[str, float]:
    return course.graded_parts(course.read_notebook(course.source_notebook(assignment)))


@pytest.fixture(params=ASSIGNMENTS)
def assignment(request):
    return request.param
