"""Run every mutant against the hidden checks under many seeds, in this process, and list survivors.

The mutant tests grade each mutant once, through the sandboxed kernel, with a seed drawn at test
time; a check that catches a mutant only for most seeds makes that test flaky. This sweep finds such
checks before CI does:

    .venv/bin/python tests/sweep_mutants.py --seeds 40 [ASSIGNMENT ...]

With --alternatives it sweeps the correct implementations of tests/alternatives/ instead, each of
which must pass every seed (a correct answer never loses points).

It runs the mutated solution code in this process (InProcessSession), which is fine for the
course's own mutants and never used to grade students. Exit status 1 when any mutant survives
(or any alternative fails).
"""
from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("MPLBACKEND", "Agg")


def load_corpus(folder, assignment):
    """(MUTANTS or ALTERNATIVES, DEPENDS) of tests/<folder>/<assignment>.py."""
    import importlib.util
    path = Path(folder) / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"{Path(folder).name}_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    corpus = getattr(module, "MUTANTS", None)
    if corpus is None:
        corpus = module.ALTERNATIVES
    return corpus, getattr(module, "DEPENDS", {})


def seed_list(count, first=1):
    """`count` spread-out, reproducible seeds."""
    return [first + 104729 * i for i in range(count)]


def mutated_namespace(assignment, part, code):
    from grader import reference
    return reference.execute(assignment, append={f"{part}_code": code})


def load_checks(assignment):
    """(part, test name, function, fixture names) of every hidden check, imported once."""
    import importlib.util
    import inspect
    from grader import course
    path = course.check_module(assignment)
    spec = importlib.util.spec_from_file_location(f"sweep_checks_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = []
    for name, fn in vars(module).items():
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "part"]
        if name.startswith("test_") and marks:
            checks.append((marks[0].args[0], name, fn, list(inspect.signature(fn).parameters)))
    return checks


def run_part(checks, part, session, ref, seed, explain=False):
    """Whether every check of `part` passes: the checks called directly (no pytest), with the
    fixtures the harness gives them (the rng seeded from the seed and the test's name).
    Returns a bool, or with explain None when all pass and else "check: message"."""
    import zlib
    import numpy as np
    from grader.harness import StudentProxy
    for p, name, fn, params in checks:
        if p != part:
            continue
        fixtures = {"student": StudentProxy(session), "ref": ref,
                    "rng": np.random.default_rng([seed, zlib.crc32(name.encode())])}
        try:
            fn(**{k: fixtures[k] for k in params})
        except Exception as err:  # noqa: BLE001 - any failure is the mutant being caught
            return f"{name}: {type(err).__name__}: {err}" if explain else False
    return None if explain else True


def check_title(name, fn):
    """The name the harness gives a check in its results: the first line of its docstring."""
    return (fn.__doc__ or name).strip().splitlines()[0]


def run_all(checks, session, ref, seed):
    """Every check of every part, called directly in the order the harness runs them (the order of
    the module), with the fixtures the harness gives them: [(part, title, problem or None)].
    Unlike run_part, a failing check does not stop its part: the next checks still run, as under
    the harness, so state a function keeps between calls sees the same sequence of calls."""
    import zlib
    import numpy as np
    from grader.harness import StudentProxy
    out = []
    for p, name, fn, params in checks:
        fixtures = {"student": StudentProxy(session), "ref": ref,
                    "rng": np.random.default_rng([seed, zlib.crc32(name.encode())])}
        try:
            fn(**{k: fixtures[k] for k in params})
            problem = None
        except Exception as err:  # noqa: BLE001 - any failure is the part's loss
            problem = f"{name}: {type(err).__name__}: {err}"
        out.append((p, check_title(name, fn), problem))
    return out


def sweep(job):
    import io
    import contextlib
    from grader import course, reference
    from grader.harness import run_checks
    from grader.kernel import InProcessSession
    assignment, seeds, folder = job
    if folder.name == "alternatives":
        return assignment, sweep_alternatives(assignment, seeds, folder)
    mutants, depends = load_corpus(folder, assignment)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = reference.load(assignment)
    module = course.check_module(assignment)
    checks = load_checks(assignment)
    problems = []
    for part, named in mutants.items():
        broken = {part} | {p for p, uses in depends.items() if part in uses}
        for name, code in named.items():
            with contextlib.redirect_stdout(io.StringIO()):
                ns = mutated_namespace(assignment, part, code)
            session = InProcessSession(ns)
            # every part through the real harness on the first seed (a mutant must cost no other part)
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                run = run_checks(module, session, ref, seed=seeds[0])
            if run.error:
                problems.append(f"{assignment} {part} '{name}': error {run.error}")
                continue
            failed = {r.part for r in run.results if not r.passed}
            if failed - broken:
                problems.append(f"{assignment} {part} '{name}' seed {seeds[0]} also fails {sorted(failed - broken)}")
            # then its own part's checks, called directly, under every seed
            survived = []
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                for seed in seeds:
                    if run_part(checks, part, session, ref, seed):
                        survived.append(seed)
            if survived:
                problems.append(f"{assignment} {part} '{name}' survives {len(survived)}/{len(seeds)} seeds, "
                                f"e.g. {survived[:3]}")
    return assignment, problems


def sweep_alternatives(assignment, seeds, folder):
    """Problems of the correct alternatives: each must pass every check of its part for every seed."""
    import io
    import contextlib
    from grader import reference
    from grader.kernel import InProcessSession
    if not (folder / f"{assignment}.py").is_file():
        return [f"{assignment}: no alternatives"]
    alternatives, _ = load_corpus(folder, assignment)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = reference.load(assignment)
    checks = load_checks(assignment)
    problems = []
    for part, named in alternatives.items():
        for name, code in named.items():
            with contextlib.redirect_stdout(io.StringIO()):
                session = InProcessSession(mutated_namespace(assignment, part, code))
            failed = []
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                for seed in seeds:
                    why = run_part(checks, part, session, ref, seed, explain=True)
                    if why:
                        failed.append((seed, why))
            if failed:
                problems.append(f"{assignment} {part} '{name}' (correct) fails {len(failed)}/{len(seeds)} seeds, "
                                f"e.g. seed {failed[0][0]}: {failed[0][1][:300]}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--alternatives", action="store_true",
                        help="sweep the correct alternatives of tests/alternatives/ instead: each must pass")
    args = parser.parse_args(argv)
    from grader import course
    names = args.assignments or course.assignments()
    seeds = seed_list(args.seeds, args.first_seed)
    folder = REPO / "tests" / ("alternatives" if args.alternatives else "mutants")
    bad = []
    with ProcessPoolExecutor(args.workers) as pool:
        for assignment, problems in pool.map(sweep, [(a, seeds, folder) for a in names]):
            print(f"{assignment}: {'ok' if not problems else f'{len(problems)} problem(s)'}", flush=True)
            for line in problems:
                print("   ", line, flush=True)
            bad += problems
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
