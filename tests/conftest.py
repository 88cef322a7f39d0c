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
    "tests/test_adversarial_batch.py::": "class batch",         # the `class_batch` fixture below
    "tests/test_autograde_batch.py::": "class batch",
    "tests/test_release.py::test_release_is_in_sync_with_solutions": "release",
    "tests/test_release.py::test_release_runs_without_the_grader": "setup cells",   # one process runs all 12
}

# The longest units of work (a group above, or the node id prefix of a test) with their seconds in the
# last measured run on a nearly idle 2-core machine (`pytest -n 2 tests --durations=15`, 2026-11-30);
# the units changed since (the hub and browser tests wait for conditions instead of fixed sleeps, the
# class batch took in the late submission and the attacks of the adversarial batch, the forced regrade
# runs on the Dask cluster) as measured alone on the shared machine at load average 2-8, 2026-11-30.
# They are started first, longest first, each on a worker about to be free, and the hundreds of short
# tests after them fill both workers' ends: the wall time is that of the busier worker, and a long test
# started last makes a long tail. The figures only order the work: a stale one costs balance, never
# coverage. Everything else keeps the collection order.
LONGEST = {
    "book": 139,
    "class batch": 124,
    "tests/test_parallel_grading.py::test_two_workers_resume_and_force_on_a_dask_cluster": 81,
    "tests/test_hub.py::test_the_term_on_the_hub": 69,
    "tests/test_bench.py::test_bench_prints_its_tables": 67,
    "release": 6,  # one nbgrader start for the 12 releases (was 40 s with a process each)
    "tests/test_browser.py::": 30,
    "tests/test_lms.py::test_a_canvas_zip_is_graded_end_to_end": 27,
    "tests/test_course_faults.py::test_autograde_refuses_then_fails_closed": 22,
    "tests/test_course_faults.py::test_a_copied_repository_grades_the_reference_in_full": 21,
    "tests/test_manual_parts.py::test_check_lists_written_answers_to_grade_by_hand_never_failed": 20,
    "tests/test_course_faults.py::test_check_refuses_then_fails_closed": 16,
}


def unit_cost(unit: str) -> float:
    return next((seconds for prefix, seconds in LONGEST.items() if unit.startswith(prefix)), 0.0)


def pytest_xdist_make_scheduler(config, log):
    """With -n (xdist's default `load` distribution): each test is its own unit of work, as under
    `load`, except the groups of SAME_WORKER, each sent whole to one worker. The units of LONGEST go
    first, longest first (the longest-processing-time-first rule); the others follow in collection order."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SameWorkerGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return next((group for prefix, group in SAME_WORKER.items() if nodeid.startswith(prefix)), nodeid)

        def _reschedule(self, node):
            # xdist queues up to three tests ahead on a worker; a long unit goes only to a worker that is
            # about to be idle, or a busy worker would hold it while the other one is free. A worker runs
            # a test once it knows the next one (or is told to stop): one pending test means it waits.
            if not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) > 1 \
                    and unit_cost(max(self.workqueue, key=unit_cost)) > 0:
                return
            super()._reschedule(node)

        def _assign_work_unit(self, node):
            # the costliest unit left goes next (the first in queue order among equals)
            unit = max(self.workqueue, key=unit_cost)
            self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

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


@pytest.fixture(scope="session")
def class_batch(tmp_path_factory):
    """One class graded by one real `python -m grader autograde` run (2 workers, a due date, 20 s per
    cell): the honest, broken, late and cheating submissions of tests/test_autograde_batch.py beside the
    attacks of tests/test_adversarial_batch.py (hangs, forks, memory, output, network, snooping), with a
    server on loopback that no submission may reach. Shared by both files, which SAME_WORKER keeps on one
    worker. Returns proc, work, grades (raw scores), reports and the server's connections."""
    import csv
    import json
    import subprocess
    import types

    import submissions as S
    from test_adversarial_batch import build as build_attacks, loopback_server
    from test_autograde_batch import DUE, build_batch
    root, work = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("classwork")
    with loopback_server() as (port, connections):
        build_batch(root)
        build_attacks(root, port)
        env = dict(os.environ, COURSE_WORK_DIR=str(work))
        proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(root), "--due", DUE,
                               "--cell-timeout", "20", "--workers", "2"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=2400)
    assert (work / "grades.csv").is_file(), f"autograde wrote no grades (exit {proc.returncode}):\n" + \
        proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(work / "grades.csv") as fh:
        grades = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(fh)}
    reports = {p.stem: json.loads(p.read_text()) for p in (work / "reports" / S.A).glob("*.json")}
    return types.SimpleNamespace(proc=proc, work=work, grades=grades, reports=reports, connections=connections)


@pytest.fixture(scope="session")
def check_work(tmp_path_factory):
    """COURSE_WORK_DIR for the tests' `python -m grader check` runs, one for all test processes: check
    keeps there the gradebook nbgrader's release made for an assignment (check-cache, written atomically)
    and copies it for the next check of that assignment instead of releasing again."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent          # the run's folder, above each worker's own
    path = root / "check-work"
    path.mkdir(exist_ok=True)
    return path
