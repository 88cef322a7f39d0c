"""Take in a folder or zip of student submissions and lay it out the way nbgrader expects.

Accepted layouts, one folder per student (the folder's name is the student id):
    SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb   (nbgrader's own layout)
    SUBMISSIONS/<student>/<notebook>.ipynb                (assignment found from the notebook's name)
and the LMS downloads of `lms.py` (Canvas, Moodle, Blackboard, GitHub Classroom), which it lays out this way.
A notebook under another name (`optimizers-Copy1.ipynb`, `optimizers (1).ipynb`) is recognised by what it
is: the nbgrader grade_ids of its cells against those of each assignment's release in notebooks/; it is
graded, and a note says it was renamed and from what. Only a notebook that matches no assignment is refused.
Each problem found here (a notebook that is not valid JSON, a renamed or missing notebook, an empty
submission) becomes one clear line naming the student, the file and what to do; such a notebook is
not copied, so nbgrader records zero for it, and the rest of the batch is graded.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


@dataclass
class Problem:
    student: str
    path: str
    reason: str
    assignment: str = ""
    note: bool = False  # for information (a renamed file, a dropped earlier copy): nothing to review

    def line(self):
        return f"{self.student or '-'}: {self.path}: {self.reason}"


def unpack(src: Path) -> tuple[Path, Path | None]:
    """A folder is used as is; a zip is extracted (safely) into a temporary folder."""
    if src.is_dir():
        return src, None
    if src.suffix == ".zip" and zipfile.is_zipfile(src):
        tmp = Path(tempfile.mkdtemp(prefix="submissions-"))
        with zipfile.ZipFile(src) as zf:
            for info in zf.infolist():
                target = (tmp / info.filename).resolve()
                if not str(target).startswith(str(tmp.resolve())) or info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
        entries = [p for p in tmp.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")) \
                and all(p.is_dir() for p in entries[0].iterdir()):
            return entries[0], tmp  # a zip of one top folder holding the student folders
        return tmp, tmp
    raise FileNotFoundError(f"{src}: not a folder or a .zip of student folders")


def expected_notebooks() -> dict[str, str]:
    """notebook file name -> assignment id."""
    return {course.source_notebook(a).name: a for a in course.assignments()}


@functools.lru_cache(maxsize=None)
def release_grade_ids() -> dict[str, frozenset]:
    """assignment -> the grade_ids (nbgrader cell metadata) of its release in notebooks/ found in no other
    assignment's release (the source notebook where there is no release yet)."""
    ids = {}
    for a in course.assignments():
        path = course.NOTEBOOKS / a / course.source_notebook(a).name
        nb = course.read_notebook(path if path.is_file() else course.source_notebook(a))
        ids[a] = {course.nbgrader_meta(c).get("grade_id") for c in nb.cells} - {None, ""}
    return {a: frozenset(own - set().union(*(v for b, v in ids.items() if b != a))) for a, own in ids.items()}


def identify(nb) -> tuple[str | None, str]:
    """(assignment, '') for a notebook (a path or a notebook node) whose graded cells are those of one
    assignment, else (None, why not)."""
    if not isinstance(nb, dict):
        try:
            nb = json.loads(Path(nb).read_bytes())
        except (OSError, ValueError, UnicodeDecodeError) as err:
            return None, f"cannot be read as a notebook ({type(err).__name__})"
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return None, "has no cells"
    have = {course.nbgrader_meta(c).get("grade_id") for c in cells if isinstance(c, dict)}
    matches = {a: len(have & own) for a, own in release_grade_ids().items()}
    best = max(matches.values(), default=0)
    if best == 0:
        return None, ("matches no assignment of the course: none of its cells carries the nbgrader id of a graded "
                      "cell of a notebook in notebooks/ (a new notebook with the code pasted in?)")
    winners = sorted(a for a, n in matches.items() if n == best)
    if len(winners) > 1:
        return None, f"matches several assignments equally ({', '.join(winners)}): cells of more than one notebook"
    return winners[0], ""


def check_notebook(path: Path) -> str:
    """'' when the file is a readable notebook, else the reason it is not."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if not raw.strip():
        return "is empty"
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        return f"is not valid JSON ({str(err)[:80]}); ask the student to resubmit the .ipynb file itself"
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds
        return f"is not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0][:80]})"
    return ""


def collect(root: Path, assignments: list[str] | None = None, origin: dict | None = None):
    """Return ({(student, assignment): notebook path}, [Problem]). `origin` maps a file's path to where it
    came from (an LMS download laid out anew), for the messages."""
    names = expected_notebooks()
    wanted = set(assignments or course.assignments())
    found, problems = {}, []
    origin = origin or {}

    def where(path):
        return origin.get(str(path), str(path))

    for sdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = sdir.name
        if not _ID.match(student):
            problems.append(Problem(student, where(sdir), "is not a usable student id (letters, digits, _ . @ -)"))
            continue
        # the course's own file names first: a renamed copy beside the original is the second copy
        files = sorted((p for p in sdir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts),
                       key=lambda p: (p.name not in names, str(p)))
        if not files:
            problems.append(Problem(student, where(sdir), "holds no notebook: empty submission, zero points"))
            continue
        for nb in files:
            rel = nb.relative_to(sdir)
            assignment = names.get(nb.name)
            if assignment is None:
                folder = rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in wanted else ""
                assignment, why = identify(nb)
                if assignment is None:
                    reason = check_notebook(nb) or why
                    problems.append(Problem(student, where(nb), f"{reason}; it is not graded. Expected one of: "
                                            f"{', '.join(sorted(names))}", folder))
                    continue
            if len(rel.parts) > 1 and rel.parts[0] != assignment and rel.parts[0] != "_unrecognised":
                problems.append(Problem(student, where(nb), f"sits in {rel.parts[0]}/ but belongs to {assignment}/; "
                                        "graded as " + assignment))
            if assignment not in wanted:
                continue
            if (student, assignment) in found:
                problems.append(Problem(student, where(nb), "is a second copy of this notebook; only "
                                        f"{where(found[(student, assignment)])} is graded", assignment))
                continue
            reason = check_notebook(nb)
            if reason:
                problems.append(Problem(student, where(nb), reason + "; zero points for this notebook", assignment))
                continue
            found[(student, assignment)] = nb
            if nb.name not in names:
                problems.append(Problem(student, where(nb), f"renamed from {nb.name}: recognised by its graded cells "
                                        f"as {assignment}'s {course.source_notebook(assignment).name} and graded as "
                                        "that notebook", assignment, note=True))
    return found, problems
