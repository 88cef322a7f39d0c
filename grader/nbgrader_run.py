"""Run nbgrader's own commands with the course config, in a child process.

Every call passes grader/nbgrader_config.py (without it nbgrader would create a stray gradebook.db)
and puts this Python's bin/ first on PATH, because nbgrader runs `alembic` from PATH when it opens
a gradebook. COURSE_WORK_DIR selects the work folder (submissions, gradebook, feedback, reports).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import course


def with_python_bin(path: str) -> str:
    """PATH with this Python's bin/ first (where nbgrader finds `alembic`)."""
    return os.pathsep.join([str(Path(sys.executable).parent), path])


def env_for(work: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = with_python_bin(env.get("PATH", ""))
    env["PYTHONPATH"] = os.pathsep.join([str(course.REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if work is not None:
        env["COURSE_WORK_DIR"] = str(work)
    return env


def nbgrader(*args: str, work: Path | None = None, quiet: bool = True, check: bool = True, config=None):
    """Run `nbgrader ARGS --NbGrader.config_file=grader/nbgrader_config.py`; return the CompletedProcess."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--NbGrader.config_file={config or course.CONFIG}"]
    if quiet:
        cmd.append("--log-level=WARN")
    proc = subprocess.run(cmd, cwd=course.REPO, env=env_for(work), text=True, capture_output=True)
    if check and proc.returncode != 0:
        raise NbgraderFailed(" ".join(args[:2]), proc)
    return proc


class NbgraderFailed(RuntimeError):
    def __init__(self, what, proc):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        super().__init__(f"nbgrader {what} failed (exit {proc.returncode}):\n{tail}")
        self.proc = proc
