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


# Tests that share an expensive module or session fixture run on one xdist worker, so the fixture is
# built once: {node id prefix: group}. (xdist's own --dist loadgroup does not group under pytest 9.)
SAME_WORKER = {
    "tests/test_site.py::": "book",                     # the `book` fixture below
    "tests/test_notebooks_execute.py::": "book",
    "tests/test_adversarial_batch.py::": "adversarial batch",
    "tests/test_autograde_batch.py::": "class batch",
    "tests/test_release.py::test_release_is_in_sync_with_solutions": "release",
}


def pytest_xdist_make_scheduler(config, log):
    """With -n (xdist's default `load` distribution): each test is its own unit of work, as under
    `load`, except the groups of SAME_WORKER, each sent whole to one worker; the largest go first."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SameWorkerGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return next((group for prefix, group in SAME_WORKER.items() if nodeid.startswith(prefix)), nodeid)

    return SameWorkerGroups(config, log)


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The course built as a book (`python -m grader site`) with a fresh execution cache: every solution
    notebook executed once, experiments included. Shared by tests/test_site.py (the pages) and
    tests/test_notebooks_execute.py (the executed notebooks), which SAME_WORKER keeps on one worker.
    Returns (site folder, pages, {assignment: executed notebook, seconds it took})."""
    from jupyter_cache import get_cache

    from grader import site
    root = tmp_path_factory.mktemp("book")
    pages = site.build(root / "site", log=lambda *_: None, cache=root / "cache")
    cache = get_cache(str(root / "cache"))
    executed = {}
    for record in cache.list_cache_records():
        executed[Path(record.uri).stem] = (cache.get_cache_bundle(record.pk).nb,
                                           record.data.get("execution_seconds"))
    return root / "site", pages, executed
