import os
import sys

from .cli import main

code = main()
if len(sys.argv) > 1 and sys.argv[1] == "check":
    # `check` grades in this process: nbgrader, torch and the reference solutions are loaded here, and
    # tearing them down at exit (module teardown, C++ destructors) took 7 to 17 s after the report was
    # printed, against 0.3 to 0.5 s with os._exit, on this 2-core machine under a load of 15 to 20.
    # Everything is written and every kernel stopped by now, so leave without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
raise SystemExit(code)
