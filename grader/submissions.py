"""Take in a folder or zip of student submissions and lay it out the way nbgrader expects.

Accepted layouts, one folder per student (the folder's name is the student id):
    SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb   (nbgrader's own layout)
    SUBMISSIONS/<student>/<notebook>.ipynb                (assignment found from the notebook's name)
Each problem found here (a notebook that is not valid JSON, a renamed or missing notebook, an empty
submission) becomes one clear line naming the student, the file and what to do; such a notebook is
not copied, so nbgrader records zero for it, and the rest of the batch is graded.
"""
from __future__ import annotations

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

    def line(self):
        return f"{self.student}: {self.path}: {self.reason}"


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


def collect(root: Path, assignments: list[str] | None = None):
    """Return ({(student, assignment): notebook path}, [Problem])."""
    names = expected_notebooks()
    wanted = set(assignments or course.assignments())
    found, problems = {}, []
    for sdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = sdir.name
        if not _ID.match(student):
            problems.append(Problem(student, str(sdir), "is not a usable student id (letters, digits, _ . @ -)"))
            continue
        files = sorted(p for p in sdir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if not files:
            problems.append(Problem(student, str(sdir), "holds no notebook: empty submission, zero points"))
            continue
        for nb in files:
            rel = nb.relative_to(sdir)
            assignment = names.get(nb.name)
            if assignment is None:
                folder = rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in wanted else ""
                problems.append(Problem(student, str(nb), "is not a notebook of the course (renamed?); it is not "
                                        f"graded. Expected one of: {', '.join(sorted(names))}", folder))
                continue
            if len(rel.parts) > 1 and rel.parts[0] != assignment:
                problems.append(Problem(student, str(nb), f"sits in {rel.parts[0]}/ but belongs to {assignment}/; "
                                        "graded as " + assignment))
            if assignment not in wanted:
                continue
            if (student, assignment) in found:
                problems.append(Problem(student, str(nb), "is a second copy of this notebook; only "
                                        f"{found[(student, assignment)]} is graded", assignment))
                continue
            reason = check_notebook(nb)
            if reason:
                problems.append(Problem(student, str(nb), reason + "; zero points for this notebook", assignment))
                continue
            found[(student, assignment)] = nb
    return found, problems
