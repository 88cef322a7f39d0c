"""Run every mutant against the hidden checks under many seeds, in this process, and list survivors.

The mutant tests grade each mutant once, through the sandboxed kernel, with a seed drawn at test
time; a check that catches a mutant only for most seeds makes that test flaky. This sweep finds such
checks before CI does:

    .venv/bin/python tests/sweep_mutants.py --seeds 40 [ASSIGNMENT ...]

It runs the mutated solution code in this process (InProcessSession), which is fine for the
course's own mutants and never used to grade students. Exit status 1 when any mutant survives.
"""
from __future__ import annotations

import argparse
import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("MPLBACKEND", "Agg")


def mutated_namespace(assignment, part, code):
    from grader import course, reference
    path = course.source_notebook(assignment)
    nb = course.read_notebook(path)
    namespace = {"__name__": f"mutant_{assignment}"}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or course.is_experiment(cell) or course.is_test_cell(cell):
            continue
        source = reference._python_only(cell.source)
        if course.nbgrader_meta(cell).get("grade_id") == f"{part}_code":
            source += "\n\n" + code
        exec(compile(source, f"{path.name}[cell {index}]", "exec"), namespace)  # noqa: S102
    return namespace


def sweep(job):
    import io
    import contextlib
    from grader import course, reference
    from grader.harness import run_checks
    from grader.kernel import InProcessSession
    from test_mutants import load_mutants
    assignment, seeds = job
    mutants, depends = load_mutants(assignment)
    ref = reference.load(assignment)
    module = course.check_module(assignment)
    problems = []
    for part, named in mutants.items():
        broken = {part} | {p for p, uses in depends.items() if part in uses}
        for name, code in named.items():
            with contextlib.redirect_stdout(io.StringIO()):
                ns = mutated_namespace(assignment, part, code)
            for i, seed in enumerate(seeds):
                # every part on the first seed (a mutant must cost no other part), then only its own
                with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                    run = run_checks(module, InProcessSession(ns), ref, seed=seed,
                                     parts=None if i == 0 else {part})
                if run.error:
                    problems.append(f"{assignment} {part} '{name}' seed {seed}: error {run.error}")
                    break
                failed = {r.part for r in run.results if not r.passed}
                if part not in failed:
                    problems.append(f"{assignment} {part} '{name}' survives seed {seed}")
                    break
                extra = failed - broken
                if extra:
                    problems.append(f"{assignment} {part} '{name}' seed {seed} also fails {sorted(extra)}")
                    break
    return assignment, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    from grader import course
    names = args.assignments or course.assignments()
    seeds = [args.first_seed + 104729 * i for i in range(args.seeds)]
    bad = []
    with ProcessPoolExecutor(args.workers) as pool:
        for assignment, problems in pool.map(sweep, [(a, seeds) for a in names]):
            print(f"{assignment}: {'ok' if not problems else f'{len(problems)} problem(s)'}", flush=True)
            for line in problems:
                print("   ", line, flush=True)
            bad += problems
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
