"""Every hidden check fails on plausible wrong implementations: each mutant of a part loses that
part's points, and only that part's (and those of parts declared to call the broken function), for
every seed tried. More seeds: MUTANT_SEEDS=50, or tests/sweep_mutants.py."""
import contextlib
import copy
import functools
import io
import os

import pytest

from conftest import ASSIGNMENTS, REPO, full_scores, grade
from grader import course, reference
from grader.harness import run_checks
from grader.kernel import InProcessSession
from sweep_mutants import load_checks, load_corpus, run_all, run_part, seed_list

SEEDS = int(os.environ.get("MUTANT_SEEDS", "4"))  # the first through the harness, the rest direct

MUTANT_DIR = REPO / "tests" / "mutants"


def load_mutants(assignment):
    return load_corpus(MUTANT_DIR, assignment)


def cases():
    out = []
    for a in ASSIGNMENTS:
        if (MUTANT_DIR / f"{a}.py").is_file():
            mutants, _ = load_mutants(a)
            out += [pytest.param(a, p, name, id=f"{a}-{p}-{name}") for p, ms in mutants.items() for name in ms]
    return out


def test_every_part_has_at_least_two_mutants(assignment):
    assert (MUTANT_DIR / f"{assignment}.py").is_file(), f"tests/mutants/{assignment}.py is missing"
    mutants, depends = load_mutants(assignment)
    parts = full_scores(assignment)
    for part in parts:
        assert len(mutants.get(part, {})) >= 2, f"{assignment}: part {part} has fewer than two mutants"
    assert set(mutants) <= set(parts)
    assert set(depends) <= set(parts) and all(set(v) <= set(parts) for v in depends.values())


def mutate(assignment, part, code, nb=None):
    """The source notebook (or `nb`) with `code` appended to the solution cell of `part`."""
    nb = copy.deepcopy(nb if nb is not None else course.read_notebook(course.source_notebook(assignment)))
    cells = [c for c in nb.cells if course.nbgrader_meta(c).get("grade_id") == f"{part}_code"]
    assert len(cells) == 1, f"{assignment}: no solution cell {part}_code"
    cells[0].source += "\n\n# --- mutant ---\n" + code
    return nb


@functools.lru_cache(maxsize=None)
def checks_of(assignment):
    """The hidden checks of an assignment, imported once per test process."""
    return load_checks(assignment)


def quiet():
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


@pytest.mark.parametrize("assignment, part, name", cases())
def test_mutant_loses_exactly_its_part(assignment, part, name):
    """In this process, through the kernel side's own request and reply code (InProcessSession): every
    check of every part on one seed, called in the harness's order with the harness's fixtures (the
    mutant loses its part, and only its part and the parts that call it), then its part's checks under
    more seeds, each of which must catch it. test_the_harness_gives_the_direct_verdicts shows the
    pytest harness reaches the same verdicts as these direct calls; tests/sweep_mutants.py runs the
    same under hundreds of seeds; test_mutants_lose_their_parts_through_the_sandbox proves the
    sandboxed path gives the same verdicts."""
    mutants, depends = load_mutants(assignment)
    with quiet():
        ns = reference.execute(assignment, append={f"{part}_code": mutants[part][name]})
        ref = reference.load(assignment)
    session = InProcessSession(ns)
    seeds = seed_list(SEEDS, first=11)
    checks = checks_of(assignment)
    with quiet():
        results = run_all(checks, session, ref, seeds[0])
    failed = {p for p, _, problem in results if problem}
    assert part in failed, f"mutant '{name}' kept the points of {part} (seed {seeds[0]})"
    broken = {part} | {p for p, uses in depends.items() if part in uses}
    assert not failed - broken, f"mutant of {part} '{name}' cost {sorted(failed - broken)} their points: " + \
        "; ".join(f"{p}: {problem}" for p, _, problem in results if problem and p not in broken)
    for seed in seeds[1:]:
        with quiet():
            survived = run_part(checks, part, session, ref, seed)
        assert not survived, f"mutant '{name}' of {part} survives seed {seed}"


def test_the_harness_gives_the_direct_verdicts(assignment):
    """The pytest harness that grades (grader.harness.run_checks) and the direct calls of the test
    above agree check by check, on the reference and on the reference carrying a mutant in every
    part (each run on a namespace of its own), so the per-mutant verdicts above are the harness's."""
    mutants, _ = load_mutants(assignment)
    every = {f"{part}_code": next(iter(named.values())) for part, named in mutants.items()}
    with quiet():
        ref = reference.load(assignment)
    for what, append in (("the reference", {}), ("a mutant in every part", every)):
        with quiet():
            run = run_checks(course.check_module(assignment),
                             InProcessSession(reference.execute(assignment, append=append)), ref, seed=11)
            direct = run_all(checks_of(assignment),
                             InProcessSession(reference.execute(assignment, append=append)), ref, 11)
        assert not run.error, run.error
        harness = [(r.part, r.name, r.passed) for r in run.results]
        assert harness == [(p, title, problem is None) for p, title, problem in direct], what
        lost = {p for p, _, passed in harness if not passed}
        assert lost == (set(mutants) if append else set()), f"{what}: parts lost {sorted(lost)}"


@pytest.mark.slow
def test_mutants_lose_their_parts_through_the_sandbox(assignment, tmp_path):
    """A notebook carrying one mutant in every part, graded as a student's notebook is (sandboxed
    kernel, calls over the wire): every part fails, none goes to review."""
    mutants, _ = load_mutants(assignment)
    nb = course.read_notebook(course.source_notebook(assignment))
    for part, named in mutants.items():
        nb = mutate(assignment, part, next(iter(named.values())), nb=nb)
    report = grade(nb, assignment, tmp_path)
    statuses = {p.part: p.status for p in report.parts}
    assert statuses == {p: "failed" for p in full_scores(assignment)}, report.to_json()
