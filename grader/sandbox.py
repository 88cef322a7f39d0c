"""Where a student's kernel runs, and with which limits.

`Sandbox` wraps the kernel command. Every kernel gets resource limits (address space, processes,
file size, CPU time) set by a tiny launcher before ipykernel starts, a private scratch HOME, and a
scrubbed environment; jupyter_client starts it in a new session, so killing it kills its whole
process group. Bubblewrap isolation (no network, read-only system, no view of solutions/, grader/
or other students) is layered on top by `BubblewrapSandbox` in `grader.bwrap` where available.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import KernelManager

# Applied inside the kernel's process before ipykernel is imported; argv: limits as ints, then the command.
_LIMITS = (
    "import os,resource,sys\n"
    "a=sys.argv\n"
    "for k,v in zip(('RLIMIT_AS','RLIMIT_NPROC','RLIMIT_FSIZE','RLIMIT_CPU'),a[1:5]):\n"
    " v=int(v)\n"
    " if v>0: resource.setrlimit(getattr(resource,k),(v,v))\n"
    "os.execv(a[5],a[5:])\n"
)


@dataclass
class Limits:
    memory_bytes: int = 6 * 2**30      # address space of the kernel process
    processes: int = 0                 # RLIMIT_NPROC (per user, so 0 = unset unless sandboxed)
    file_bytes: int = 256 * 2**20      # largest file the kernel may write
    cpu_seconds: int = 900             # CPU time of the kernel process


class Sandbox:
    """Resource limits and a scratch home, no filesystem isolation."""

    name = "limits-only"
    isolated = False

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    def wrap(self, cmd: list[str], workdir: Path, home: Path) -> list[str]:
        lim = self.limits
        return [sys.executable, "-c", _LIMITS, str(lim.memory_bytes), str(lim.processes),
                str(lim.file_bytes), str(lim.cpu_seconds), *cmd]

    def kernel_manager(self, workdir: Path) -> KernelManager:
        home = Path(tempfile.mkdtemp(prefix="kernel-home-"))
        sandbox = self

        class _Manager(KernelManager):
            def format_kernel_cmd(self, extra_arguments=None):
                cmd = super().format_kernel_cmd(extra_arguments)
                return sandbox.wrap(cmd, Path(workdir), home)

        # Unix-socket transport: works with the network unshared and is not reachable by other users.
        km = _Manager(kernel_name="python3", transport="ipc", ip=str(home / "kernel"))
        km.course_home = home
        return km

    def start_kwargs(self, km, workdir: Path) -> dict:
        from .kernel import clean_env
        return {"cwd": str(workdir), "env": clean_env(km.course_home),
                "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                "extra_arguments": ["--HistoryManager.hist_file=:memory:"]}

    def cleanup(self, km) -> None:
        shutil.rmtree(getattr(km, "course_home", ""), ignore_errors=True)


def choose_sandbox(require: bool = False, log=None) -> Sandbox:
    """The strongest sandbox this machine supports; refuse to grade when required but unavailable."""
    try:
        from .bwrap import BubblewrapSandbox
    except ImportError:
        BubblewrapSandbox = None
    if BubblewrapSandbox is not None:
        problem = BubblewrapSandbox.unavailable_reason()
        if not problem:
            return BubblewrapSandbox()
    else:
        problem = "bubblewrap support is not installed"
    if require:
        raise RuntimeError(f"a bubblewrap sandbox is required but unavailable: {problem}")
    if log is not None:
        log.warning("NO SANDBOX: %s. Student code runs with resource limits only, and can read "
                    "this machine's files. Install bubblewrap (apt-get install bubblewrap).", problem)
    return Sandbox()
