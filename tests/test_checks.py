"""The hidden checks themselves: bound to real parts, and passed by the reference for every seed."""
import pytest

from conftest import full_scores
from grader import course, reference
from grader.harness import run_checks
from grader.kernel import InProcessSession
from sweep_mutants import run_all
from test_mutants import checks_of, quiet

SEEDS = range(20)


def test_every_part_has_checks_and_every_check_a_part(assignment):
    ref = reference.load(assignment)
    run = run_checks(course.check_module(assignment), InProcessSession(vars(ref)), ref, seed=0)
    assert not run.error, run.error
    bound = {r.part for r in run.results}
    assert bound == set(full_scores(assignment)), "checks and graded parts differ"
    assert all(r.passed for r in run.results), [r for r in run.results if not r.passed]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_passes_for_every_seed(assignment, seed):
    """Every check called directly, in the harness's order with the harness's fixtures (the pytest
    harness gives the same verdicts: test_mutants.py::test_the_harness_gives_the_direct_verdicts)."""
    ref = reference.load(assignment)
    with quiet():
        results = run_all(checks_of(assignment), InProcessSession(vars(ref)), ref, seed * 7919 + 1)
    assert {p for p, _, _ in results} == set(full_scores(assignment))
    failed = [(p, title, problem) for p, title, problem in results if problem]
    assert not failed, failed
