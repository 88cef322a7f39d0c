"""The hidden checks themselves: bound to real parts, and passed by the reference for every seed."""
import pytest

from conftest import full_scores
from grader import course, reference
from grader.harness import run_checks
from grader.kernel import InProcessSession

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
    ref = reference.load(assignment)
    run = run_checks(course.check_module(assignment), InProcessSession(vars(ref)), ref, seed=seed * 7919 + 1)
    failed = [(r.part, r.name, r.message) for r in run.results if not r.passed]
    assert not run.error and not failed, failed or run.error
