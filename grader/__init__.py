"""The course's grader: hidden checks, the sandboxed kernel they call into, nbgrader integration.

Instructors and self-learners use it through `python -m grader`; students never receive it.
"""
import importlib
import importlib.util
import sys
import types


def _defer_rfc3987_syntax():
    """Make `import rfc3987_syntax` cheap until the module is used.

    nbformat and nbgrader import jsonschema, whose format checkers import `rfc3987_syntax` when it is
    installed (jupyter-events pulls it in); that module builds 36 Earley parsers at import, about 1.1 s
    of every grading process's start-up (`python -X importtime -c "import nbformat"`), for IRI formats
    that no notebook schema uses. Until something calls into it, a stand-in module takes its place;
    the first attribute asked of it (jsonschema's `is_valid_syntax`, when a schema really checks an IRI)
    imports the real module, so behaviour is unchanged."""
    name = "rfc3987_syntax"
    if name in sys.modules or "jsonschema" in sys.modules:
        return
    try:
        if importlib.util.find_spec(name) is None:
            return
    except (ImportError, ValueError):
        return

    def real():
        if isinstance(sys.modules.get(name), _Deferred):
            del sys.modules[name]
        return importlib.import_module(name)

    class _Deferred(types.ModuleType):
        def __getattr__(self, attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            if attr == "is_valid_syntax":  # what jsonschema imports: parse on first use only
                return lambda term, value: real().is_valid_syntax(term, value)
            return getattr(real(), attr)

    sys.modules[name] = _Deferred(name)


_defer_rfc3987_syntax()
