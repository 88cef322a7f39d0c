"""Before grading: can the course itself grade here? Fail closed when it cannot.

A fault of the course's side (its helper `coursekit` not importable in the sandbox, a data file
changed, a reference solution that no longer earns full marks) must never be scored as the
students' failure. Three layers:

- `environment_problems()`, in the grading process, on every notebook graded (cached, milliseconds):
  the helper is importable by this Python and every file in the data folder it reads matches
  data/SHA256SUMS. It checks the very folders the sandbox shows the kernel.
- `probe(sandbox)`: a kernel in the grading sandbox imports the helper and verifies the data.
- `reference_problems(assignment, ...)`: the reference notebook of solutions/ is graded exactly as a
  submission (same sandbox, same hidden checks) and must earn full marks.

`python -m grader autograde` runs the first two before a batch (during the release) and refuses to
start when one fails. It runs the third on demand (grader/batch.py grade_verified): a course fault
can remove the evidence of a correct function but never fake it, so the reference only matters for
parts a student lost. As soon as a submission of an assignment loses a part, that assignment's
reference is graded on the grading workers, ahead of the rest of the class; when it does not earn full
marks the batch stops and what it scored for that assignment is withdrawn. No part is scored `failed`
unless the reference solution of its assignment earned full marks in this run, in the same sandbox,
with the same hidden checks. `python -m grader check` runs the first two. Each problem is one line:
what failed, then what to do.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

from . import course
from . import sandbox as _sandbox

PROBE = ("import coursekit, coursekit.data\n"
         "print('course helper:', coursekit.__file__, '| data:', coursekit.data.DATA_DIR, '|', "
         "len(coursekit.data.verify_all()), 'files verified')\n")


def reinstall_hint() -> str:
    return (f"install the course helper into the grading Python: "
            f"{sys.executable} -m pip install -e {course.REPO}")


def data_hint(helper) -> str:
    if helper.data_from_env:
        return (f"point COURSE_DATA_DIR at a verified copy of the course data (it names {helper.data}), "
                "or unset it to use the course's own data/")
    return f"restore the course data: git -C {helper.data.parent} checkout -- {helper.data.name}"


_verified: dict = {}


def _signature(folder: Path, names) -> tuple:
    out = []
    for name in ("SHA256SUMS", *names):
        try:
            st = (folder / name).stat()
            out.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            out.append((name, None))
    return tuple(out)


def data_problems(folder: Path) -> list[str]:
    """Every file listed in <folder>/SHA256SUMS exists and matches its SHA-256 (cached until a file
    changes). Computed here, not by importing coursekit, so a broken helper cannot vouch for its data."""
    sums = folder / "SHA256SUMS"
    try:
        listed = {}
        for line in sums.read_text().splitlines():
            if line.strip():
                digest, name = line.split(maxsplit=1)
                listed[name.strip().lstrip("*")] = digest
    except (OSError, ValueError) as err:
        return [f"the course data folder {folder} has no readable SHA256SUMS ({type(err).__name__})"]
    key = (str(folder), _signature(folder, listed))
    if key in _verified:
        return list(_verified[key])
    problems = []
    for name, digest in listed.items():
        path = folder / name
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            problems.append(f"the course data file {name} is missing from {folder}")
            continue
        if actual != digest:
            problems.append(f"the course data file {name} does not match its checksum (it was changed or "
                            f"corrupted) in {folder}")
    _verified[key] = tuple(problems)
    return problems


def environment_problems() -> list[str]:
    """In this (grading) process: the helper is importable, the data it reads verifies."""
    helper = _sandbox.course_helper()
    problems = []
    if helper.package is None:
        problems.append(f"the course helper `coursekit` cannot be imported by the grading Python "
                        f"({sys.executable}). What to do: {reinstall_hint()}")
    found = data_problems(helper.data)
    if found:
        problems.append("; ".join(found) + f". What to do: {data_hint(helper)}")
    return problems


def probe(sandbox, timeout=60.0) -> list[str]:
    """A kernel in `sandbox` imports the helper and verifies every data file."""
    from .kernel import CallTimeout, KernelDied, KernelSession
    with tempfile.TemporaryDirectory(prefix="course-preflight-") as tmp:
        try:
            with KernelSession(tmp, sandbox, cell_timeout=timeout, notebook_timeout=timeout) as session:
                outputs, _ = session.run_cell(PROBE)
        except (KernelDied, CallTimeout) as err:
            return [f"a kernel could not run in the grading sandbox ({sandbox.name}): {err}. What to do: "
                    f"run `{sys.executable} -m grader check` for details; `--require-sandbox` tells whether "
                    "bubblewrap works here"]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return []
    err = errors[0]
    what = f"{err.get('ename')}: {str(err.get('evalue'))[:300]}"
    helper = _sandbox.course_helper()
    if err.get("ename") == "DataError":
        return [f"the course data does not verify inside the grading sandbox ({what}). "
                f"What to do: {data_hint(helper)}"]
    where = f" (it is installed at {helper.package})" if helper.package else ""
    return [f"the course helper `coursekit` cannot be imported inside the grading sandbox{where}: {what}. "
            f"What to do: {reinstall_hint()}"]


def reference_problems(assignment: str, sandbox, seed=None, **timeouts) -> list[str]:
    """Grade the reference notebook of `assignment` like a submission; it must earn full marks."""
    from .grading import PASSED, grade_notebook
    source = course.source_notebook(assignment)
    with tempfile.TemporaryDirectory(prefix="course-preflight-") as tmp:
        report = grade_notebook(course.read_notebook(source), assignment, workdir=Path(tmp),
                                student="reference (preflight)", seed=seed, sandbox=sandbox, **timeouts)
    if all(p.status == PASSED for p in report.parts) and report.score == report.max_score:
        return []
    by_reason = {}  # the same reason (a course fault) usually covers several parts: say it once
    for p in report.parts:
        if p.status != PASSED:
            failed = next((c for c in p.checks if not c["passed"]), None)
            why = p.reason or (f"{failed['name']}: {failed['message']}" if failed else "")
            by_reason.setdefault((p.status, why[:300]), []).append(p.part)
    lines = [f"{', '.join(parts)} {status.replace('_', ' ')}" + (f" ({why})" if why else "")
             for (status, why), parts in by_reason.items()]
    return [f"the reference solution of {assignment} ({source.relative_to(course.REPO)}) earns "
            f"{report.score:g}/{report.max_score:g} in the grading sandbox ({report.sandbox}, seed "
            f"{report.seed}): " + "; ".join(lines) + ". What to do: grading it would score students "
            "wrongly; fix the course (solutions/, grader/checks/, the helper or the environment) first. "
            f"`{sys.executable} -m grader check {source}` shows the details"]


def format_problems(problems, for_whom="grading", stopped=False) -> str:
    head = (f"PREFLIGHT FAILED: the course cannot grade correctly here, so {for_whom} "
            + ("stopped." if stopped else "did not start."))
    return "\n".join([head, *(f"  - {p}" for p in problems)])
