# JupyterHub configuration of the course, read by `python -m grader hub start` (which writes
# $COURSE_HUB_STATE/hub.json from the roster and its options, then starts `jupyterhub -f` on this file).
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets

state = Path(os.environ["COURSE_HUB_STATE"])
s = json.loads((state / "hub.json").read_text())
venv_bin = str(Path(s["python"]).parent)

# Where it listens: loopback unless the instructor chose otherwise (then with HTTPS, see README).
c.JupyterHub.bind_url = f"{'https' if s['ssl_cert'] else 'http'}://{s['ip']}:{s['port']}"
# the hub's own API and the proxy's API: loopback only, on the two ports after the public one
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s['port'] + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['port'] + 2}"
if s["ssl_cert"]:
    c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = s["ssl_cert"], s["ssl_key"]
c.ConfigurableHTTPProxy.command = [s["proxy"]]
private = state / "hub"  # the hub's database, cookie secret and proxy pid: root only (0700)
c.ConfigurableHTTPProxy.pid_file = str(private / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{private / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(private / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
c.JupyterHub.cleanup_proxy = True

# Who: the roster's accounts, with their Unix passwords (PAM). Instructors are the hub's admins.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(s["students"]) | set(s["instructors"])
c.Authenticator.admin_users = set(s["instructors"])
c.PAMAuthenticator.open_sessions = False

# Each server runs in its owner's account (LocalProcessSpawner as root switches to the user),
# in their home, under per-process limits that prlimit applies before JupyterLab starts.
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
                         "COURSE_HUB_STATE": str(state)}


def limited(umask):
    return ["/usr/bin/prlimit", f"--as={s['mem_limit']}", f"--nproc={s['nproc']}",
            f"--nofile={s['nofile']}", "--core=0", "--",
            "/bin/sh", "-c", f'umask {umask}; exec "$@"', "sh", s["python"], "-m", "jupyterhub.singleuser"]


def per_role(spawner):
    """Students: the Assignments tab and Validate, no formgrader. Instructors: the course's
    nbgrader config (formgrader, autograde with the sandbox and hidden checks) and the work folder."""
    name = spawner.user.name
    if name in s["instructors"]:
        spawner.cmd = limited("007")  # files in the shared work folder stay readable by the other instructors
        spawner.notebook_dir = s["repo"]  # nbgrader's formgrader serves only a course inside its server's root
        spawner.environment["JUPYTER_CONFIG_PATH"] = str(state / "jupyter" / "instructor")
        spawner.environment["COURSE_WORK_DIR"] = s["work"]
        spawner.environment["PYTHONPATH"] = s["repo"]
    else:
        spawner.cmd = limited("077")  # a student's files are theirs alone
        spawner.environment["JUPYTER_CONFIG_PATH"] = str(state / "jupyter" / "student")


c.Spawner.pre_spawn_hook = per_role
