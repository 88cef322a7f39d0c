"""Where a student's kernel runs, and with which limits.

`Sandbox` wraps the kernel command. Every kernel gets resource limits (address space, processes,
file size, CPU time) set by a tiny launcher before ipykernel starts, a private scratch HOME, and a
scrubbed environment; jupyter_client starts it in a new session, so killing it kills its whole
process group. Bubblewrap isolation (no network, read-only system, no view of solutions/, grader/
or other students) is layered on top by `BubblewrapSandbox` in `grader.bwrap` where available.

The kernel must import the course's public helper `coursekit` and read its data from the same place
the grading process does, wherever they are installed (an editable install of this checkout or of
another one, site-packages, a data folder named by COURSE_DATA_DIR): `course_helper()` finds them,
the sandbox shows them, and the kernel's environment points at them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import KernelManager

HELPER = "coursekit"

# The launcher: runs first in the kernel's process (outside bubblewrap, if used), joins the pids
# cgroup, sets the resource limits, which every child inherits, then execs the real command.
_LAUNCH = (
    "import json,os,resource,sys\n"
    "cfg=json.loads(sys.argv[1])\n"
    "if cfg['cgroup']:\n"
    " open(os.path.join(cfg['cgroup'],'cgroup.procs'),'w').write(str(os.getpid()))\n"
    "for k,v in cfg['rlimits'].items():\n"
    " resource.setrlimit(getattr(resource,k),(v,v))\n"
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)
PIDS_ROOTS = [Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")]


@lru_cache(maxsize=None)
def _pids_cgroup_root():
    """A writable cgroup folder whose children get a pids controller, or None."""
    for root in PIDS_ROOTS:
        if not root.is_dir():
            continue
        try:
            probe = Path(tempfile.mkdtemp(prefix="course-probe-", dir=root))
        except OSError:
            continue
        usable = (probe / "pids.max").exists()
        probe.rmdir()
        if usable:
            return root
    return None


@dataclass
class Limits:
    memory_bytes: int = 6 * 2**30      # address space of each process of the kernel
    processes: int = 128               # processes and threads of one kernel (pids cgroup, else RLIMIT_NPROC)
    file_bytes: int = 256 * 2**20      # largest file the kernel may write
    cpu_seconds: int = 900             # CPU time of the kernel process


class Sandbox:
    """Resource limits and a scratch home, no filesystem isolation."""

    name = "limits-only"

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    def isolate(self, cmd: list[str], workdir: Path, home: Path, seen_as: str | None = None) -> list[str]:
        """The kernel command, wrapped in filesystem/network isolation (none here). seen_as: where the
        sandbox shows `workdir` (and starts the command) instead of its usual place."""
        return cmd

    def wrap(self, cmd: list[str], workdir: Path, home: Path, cgroup: Path | None,
             seen_as: str | None = None) -> list[str]:
        lim = self.limits
        rlimits = {"RLIMIT_AS": lim.memory_bytes, "RLIMIT_FSIZE": lim.file_bytes, "RLIMIT_CPU": lim.cpu_seconds}
        if cgroup is None and os.getuid() != 0:
            # without a pids cgroup, RLIMIT_NPROC bounds processes (it never applies to root)
            rlimits["RLIMIT_NPROC"] = _own_process_count() + lim.processes
        config = json.dumps({"cgroup": str(cgroup) if cgroup else "", "rlimits": rlimits})
        return [sys.executable, "-c", _LAUNCH, config, *self.isolate(cmd, workdir, home, seen_as)]

    def make_cgroup(self) -> Path | None:
        root = _pids_cgroup_root()
        if root is None:
            return None
        group = Path(tempfile.mkdtemp(prefix="course-kernel-", dir=root))
        (group / "pids.max").write_text(str(self.limits.processes))
        return group

    def kernel_manager(self, workdir: Path) -> KernelManager:
        home = Path(tempfile.mkdtemp(prefix="jupyter-"))
        cgroup = self.make_cgroup()
        sandbox = self

        class _Manager(KernelManager):
            def format_kernel_cmd(self, extra_arguments=None):
                cmd = super().format_kernel_cmd(extra_arguments)
                return sandbox.wrap(cmd, Path(workdir), home, cgroup)

        # Unix-socket transport: works with the network unshared and is not reachable by other users.
        km = _Manager(kernel_name="python3", transport="ipc", ip=str(home / "kernel"))
        km.course_home, km.course_cgroup = home, cgroup
        return km

    def start_kwargs(self, km, workdir: Path) -> dict:
        from .kernel import clean_env
        env = clean_env(km.course_home)
        env.update(self.helper_env(course_helper()))
        return {"cwd": str(workdir), "env": env,
                "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                "extra_arguments": ["--HistoryManager.hist_file=:memory:"]}

    def helper_env(self, helper) -> dict:
        """Environment variables the kernel needs to find the course helper and data."""
        return helper.kernel_env()

    def cleanup(self, km) -> None:
        shutil.rmtree(getattr(km, "course_home", ""), ignore_errors=True)
        group = getattr(km, "course_cgroup", None)
        if group is not None:
            for _ in range(50):  # the group can be removed once its last process has exited
                try:
                    for pid in (group / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    group.rmdir()
                    break
                except (OSError, ValueError):
                    time.sleep(0.1)


@dataclass(frozen=True)
class Helper:
    """Where the grading process finds the course's public helper and its data."""

    package: Path | None     # the coursekit package folder (None: not importable here)
    data: Path               # the data folder coursekit.data reads (COURSE_DATA_DIR or <package>/../data)
    data_from_env: bool      # data was named by COURSE_DATA_DIR
    pythonpath: str          # what a kernel of this Python needs on PYTHONPATH to import that package

    @property
    def default_data(self) -> Path | None:
        """Where coursekit.data looks without COURSE_DATA_DIR."""
        return self.package.parent / "data" if self.package is not None else None

    def remappable(self) -> bool:
        """A filesystem sandbox can show COURSE_DATA_DIR's folder where the helper looks by default
        (so the kernel needs no variable naming it): there is a folder there to mount over."""
        return self.data_from_env and self.default_data is not None and self.default_data.is_dir()

    def kernel_env(self, remapped=False) -> dict:
        """Variables a kernel needs to import this helper and read this data (`grader lab` sets
        PYTHONPATH the same way). COURSE_DATA_DIR only where the sandbox cannot remap the folder."""
        env = {}
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        if self.data_from_env and not remapped:
            env["COURSE_DATA_DIR"] = str(self.data)
        return env

    def mounts(self) -> list[tuple[Path, Path]]:
        """(folder, where the kernel sees it) a filesystem sandbox must show, read-only."""
        out = []
        if self.package is not None and self.package.is_dir():
            out.append((self.package, self.package))
        if self.data.is_dir():
            out.append((self.data, self.default_data if self.remappable() else self.data))
        return out


def _default_import_path() -> set[str]:
    """Folders a fresh kernel of this Python searches without PYTHONPATH (its site-packages)."""
    import site
    dirs = set(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.add(site.getusersitepackages())
    return {str(Path(d).resolve()) for d in dirs if d}


def course_helper() -> Helper:
    """The coursekit package this process imports (already imported, else found on sys.path, which
    the grading processes start with the course's root) and the data folder coursekit.data uses.

    The rule for the data folder is the one in coursekit/data.py: COURSE_DATA_DIR when set, else the
    `data` folder beside the package. It is computed here rather than imported, so that a broken
    helper cannot hide where its data is."""
    import importlib.util
    package = None
    module = sys.modules.get(HELPER)
    locations = list(getattr(module, "__path__", []) or []) if module is not None else []
    if not locations:
        try:
            spec = importlib.util.find_spec(HELPER)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        if Path(location, "__init__.py").is_file():
            package = Path(location).resolve()
            break
    named = os.environ.get("COURSE_DATA_DIR")
    if named:
        data = Path(named).expanduser().resolve()
    elif package is not None:
        data = package.parent / "data"
    else:
        from . import course
        data = course.DATA
    pythonpath = ""
    if package is not None and str(package.parent) not in _default_import_path():
        pythonpath = str(package.parent)
    return Helper(package, data, bool(named), pythonpath)


def _own_process_count() -> int:
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


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
