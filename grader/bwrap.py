"""Bubblewrap isolation for students' kernels.

The kernel sees a read-only system (/usr, /etc, the Python installation and the course's public
`coursekit/` and `data/`, wherever the grading Python finds them: see `sandbox.course_helper`), a writable copy of nothing but its own submission folder and a scratch
home, a private /tmp, no network (its own empty network namespace; the grader talks to it over Unix
sockets in the scratch home), its own PID namespace (killing bubblewrap kills every process inside),
and no view of solutions/, grader/, the gradebook or other students' folders.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from . import sandbox as _sandbox
from .sandbox import Sandbox

_SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc"]


class BubblewrapSandbox(Sandbox):
    name = "bubblewrap"

    @staticmethod
    @lru_cache(maxsize=None)
    def unavailable_reason() -> str:
        exe = shutil.which("bwrap")
        if not exe:
            return "bubblewrap (bwrap) is not installed"
        try:
            proc = subprocess.run([exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                                   "--proc", "/proc", "--dev", "/dev", "true"],
                                  capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"bwrap could not run ({err})"
        if proc.returncode != 0:
            return f"bwrap cannot create namespaces here ({proc.stderr.strip()[:160]})"
        return ""

    def mounts(self, workdir: Path, home: Path, seen_as: str | None = None) -> list[str]:
        args = ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]  # first: later binds may lie under /tmp
        for path in _SYSTEM:
            if os.path.lexists(path):
                args += ["--ro-bind", path, path] if not os.path.islink(path) else \
                    ["--symlink", os.readlink(path), path]
        python_dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                       str(Path(sys.executable).resolve().parent.parent)}
        for path in sorted(python_dirs):
            if not path.startswith(tuple(_SYSTEM)):
                args += ["--ro-bind", path, path]
        # the public part of the course: its helper package and data, wherever the grading Python
        # finds them (this checkout, another one an editable install points at, COURSE_DATA_DIR)
        # (a COURSE_DATA_DIR folder is shown where the helper looks by default: no variable names it)
        for public, shown_at in _sandbox.course_helper().mounts():
            args += ["--ro-bind", str(public), str(shown_at)]
        # the submission appears where a student's own copy would be, not under .../autograded/<student>/
        args += ["--bind", str(workdir), seen_as or self.inside(workdir), "--bind", str(home), str(home)]
        return args

    def helper_env(self, helper):
        return helper.kernel_env(remapped=helper.remappable())

    def isolate(self, cmd, workdir, home, seen_as=None):
        workdir = Path(workdir).resolve()
        seen_as = seen_as or self.inside(workdir)
        # JPY_PARENT_PID names a process outside the PID namespace; --die-with-parent replaces its poller.
        return ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--unsetenv", "JPY_PARENT_PID",
                *self.mounts(workdir, Path(home).resolve(), seen_as), "--chdir", seen_as, *cmd]

    # A fork server (grader/forkserver.py) serves every notebook of one student from one sandbox: it
    # shows that student's folder of submissions (autograded/<student>/, whose subfolders are the
    # notebooks' folders) as STUDENT_HOME, so each kernel's folder is where `inside` says.
    STUDENT_HOME = "/home/student"

    @staticmethod
    def inside(workdir: Path) -> str:
        """Where the submission folder is seen from inside the sandbox."""
        return f"{BubblewrapSandbox.STUDENT_HOME}/{Path(workdir).name}"

    def kernel_manager(self, workdir):
        km = super().kernel_manager(workdir)
        km.connection_file = str(km.course_home / "kernel.json")
        return km
