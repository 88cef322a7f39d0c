# This file is NOT imported by the grader. Its text is sent to the student's kernel, where it
# calls one student function on inputs the grader chose and prints the result as plain data
# (JSON; arrays as raw bytes with dtype and shape). Nothing here decides a grade: the grader
# parses and validates the text in its own process and compares there. If a student's code has
# patched anything this file uses, the worst outcome is a garbled reply, which fails the check.
# It is executed once per kernel into a private dict (see KernelSession.call), which then runs
# _course_listen(its own name). Each call then either sets _req in that dict and runs _course_call(),
# or, for a long request, sends the request ahead as a comm message that _course_listen's handler
# keeps in _inbox and runs _course_call(its nonce). Names there: _ns (the user namespace), _req (a
# JSON request string).

_inbox = {}  # nonce -> the JSON text of a request received as a comm message, until its call runs


def _course_listen(target):
    """Receive long requests as comm messages to the comm target `target`: the first buffer is the
    request's JSON text, kept under the nonce the message names (one request at a time). Where the
    kernel has no comm manager, long requests find nothing and fail their check."""
    def opened(comm, _msg):
        def received(msg):
            nonce = msg["content"]["data"]["nonce"]
            _inbox.clear()
            _inbox[nonce] = bytes(msg["buffers"][0]).decode("utf-8")
        comm.on_msg(received)

    try:
        import comm as comm_mod
        comm_mod.get_comm_manager().register_target(target, opened)
    except Exception:  # noqa: BLE001 - no comms here (not an ipykernel): short requests still work
        pass


def _course_call(nonce=None):
    import base64
    import json
    import sys

    # a request sent ahead that did not arrive is a KeyError here: the cell fails, and so does the check
    req = json.loads(_req if nonce is None else _inbox.pop(nonce))  # noqa: F821
    nonce = req["nonce"]

    def dec(node):
        if isinstance(node, dict):
            if "__nd__" in node or "__tensor__" in node:
                import numpy
                dtype, shape, data = node.get("__nd__") or node["__tensor__"]
                arr = numpy.frombuffer(base64.b64decode(data), dtype=numpy.dtype(dtype)).reshape(shape).copy()
                if "__tensor__" in node:
                    import torch as torch_mod
                    return torch_mod.from_numpy(arr)
                return arr
            if "__float__" in node:
                return float.fromhex(node["__float__"])
            if "__tuple__" in node:
                return tuple(dec(v) for v in node["__tuple__"])
            if "__list__" in node:
                return [dec(v) for v in node["__list__"]]
            if "__dict__" in node:
                return {k: dec(v) for k, v in node["__dict__"].items()}
            if "__build__" in node:  # an argument made in the kernel by a notebook function
                name, args, kwargs = node["__build__"]
                maker = _ns.get(name)  # noqa: F821
                if not callable(maker):
                    raise LookupError(f"`{name}` is not defined: did its cell run without error?")
                return maker(*[dec(a) for a in args], **{k: dec(v) for k, v in kwargs.items()})
        return node

    def rejected(what, at):
        return {"__rejected__": [what, at]}

    def holds_rejected(node, depth=0):
        """Whether an encoded value holds a value that is not plain data (the grader fails the check there)."""
        if depth > 12 or not isinstance(node, (dict, list)):
            return False
        if isinstance(node, dict) and "__rejected__" in node:
            return True
        return any(holds_rejected(v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))

    def describe(value):
        """What a value that is not plain data is, and what to return instead."""
        kind = type(value)
        cls = getattr(kind, "__qualname__", "?")[:60]
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return f"a namedtuple ({cls}): return a plain tuple"
        for base, plain in ((tuple, "tuple"), (list, "list"), (dict, "dict with string keys")):
            if isinstance(value, base):
                return f"a {cls} (a subclass of {base.__name__}): return a plain {plain}"
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, np.ndarray):
            return f"a {cls} (a subclass of numpy.ndarray): return a plain array (np.asarray(...))"
        if hasattr(kind, "__dataclass_fields__"):
            return f"a dataclass ({cls}): return a plain tuple or a dict with string keys"
        if cls == "SimpleNamespace":
            return "a SimpleNamespace: return a plain dict with string keys"
        if callable(value):
            return f"a function or callable ({cls}): return data (arrays, numbers, tuples, dicts), not a function"
        return f"an object of type {cls}: return plain data (arrays, numbers, str, None, tuples, lists, dicts)"

    def enc_array(arr, tag, at=""):
        if arr.dtype.kind not in "biuf" or arr.dtype.names is not None:
            return rejected(f"an array of dtype {arr.dtype}: return a numeric (float, int or bool) array", at)
        data = base64.b64encode(sys.modules["numpy"].ascontiguousarray(arr).tobytes()).decode("ascii")
        return {tag: [arr.dtype.str, list(arr.shape), data]}

    param_names = {}  # id(parameter) -> "module_index.name", filled as modules are encoded

    def enc_module(module, depth):
        index = len({v.split(".", 1)[0] for v in param_names.values()})
        params = []
        for name, p in module.named_parameters():
            param_names.setdefault(id(p), f"{index}.{name}")
            params.append([name, bool(p.requires_grad), enc(p, depth + 1)])
        buffers = [[name, enc(b, depth + 1)] for name, b in module.named_buffers()]
        return {"__module__": {"class": type(module).__qualname__[:100], "training": bool(module.training),
                               "params": params, "buffers": buffers}}

    def enc_optimizer(opt, depth):
        groups = []
        for group in opt.param_groups:
            hyper = {k: enc(v, depth + 1) for k, v in group.items()
                     if k != "params" and (v is None or type(v) in (bool, int, float, tuple))}
            names = [param_names.get(id(p), f"?{i}") for i, p in enumerate(group["params"])]
            groups.append({"params": names, "hyper": hyper})
        return {"__optimizer__": {"class": type(opt).__qualname__[:100], "groups": groups}}

    def enc(value, depth=0, at=""):
        np, torch = sys.modules.get("numpy"), sys.modules.get("torch")  # only if the student imported them
        if depth > 8:
            return rejected("a structure nested too deeply", at)
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if abs(value) < 2 ** 63 else rejected("an integer too large", at)
        if kind is float:
            return {"__float__": value.hex()}
        if kind is tuple:
            return {"__tuple__": [enc(v, depth + 1, f"{at}[{i}]") for i, v in enumerate(value)]}
        if kind is list:
            return {"__list__": [enc(v, depth + 1, f"{at}[{i}]") for i, v in enumerate(value)]}
        if kind is dict:
            for k in value:
                if type(k) is not str:
                    return rejected(f"a dict with a key of type {type(k).__qualname__[:40]} ({str(k)[:40]}): "
                                    "use string keys", at)
            return {"__dict__": {k: enc(v, depth + 1, f"{at}[{k[:40]!r}]") for k, v in value.items()}}
        if np is not None and kind is np.ndarray:
            return enc_array(value, "__nd__", at)
        if np is not None and kind in (np.float64, np.float32, np.float16, np.int64, np.int32,
                                       np.int16, np.int8, np.uint8, np.bool_):
            return enc_array(np.asarray(value), "__npscalar__", at)
        if torch is not None and kind is torch.Tensor:
            t = value.detach()
            if t.is_sparse or t.is_complex() or t.dtype in (torch.bfloat16,):
                return rejected(f"a tensor of dtype {t.dtype}: return a float or integer tensor", at)
            return enc_array(t.cpu().contiguous().numpy(), "__tensor__", at)
        if torch is not None and kind is torch.Size:
            return {"__tuple__": [int(v) for v in value]}
        if torch is not None and kind is torch.nn.Parameter:
            return enc_array(value.detach().cpu().contiguous().numpy(), "__tensor__", at)
        if torch is not None and isinstance(value, torch.nn.Module):
            return enc_module(value, depth)
        if torch is not None and isinstance(value, torch.optim.Optimizer):
            return enc_optimizer(value, depth)
        return rejected(describe(value), at)

    def arrays_in(value, at="", depth=0):
        """(path, ndarray) of every array or CPU tensor inside tuples, lists and dicts."""
        np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
        if depth > 8:
            return
        if np is not None and isinstance(value, np.ndarray):
            yield at, value
        elif torch is not None and isinstance(value, torch.Tensor) and value.device.type == "cpu" \
                and not value.is_sparse:
            try:
                yield at, value.detach().numpy()
            except (RuntimeError, TypeError):
                pass
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                yield from arrays_in(v, f"{at}[{i}]", depth + 1)
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from arrays_in(v, f"{at}[{str(k)[:40]!r}]", depth + 1)

    def rng_states():
        """Fingerprints of the global random states (numpy, torch, Python's random)."""
        import hashlib
        out = {}
        np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
        if np is not None:
            st = np.random.get_state()
            out["numpy"] = hashlib.sha256(st[1].tobytes() + repr(st[2:]).encode()).hexdigest()
        if torch is not None:
            out["torch"] = hashlib.sha256(torch.random.get_rng_state().numpy().tobytes()).hexdigest()
        rnd = sys.modules.get("random")
        if rnd is not None:
            out["python"] = hashlib.sha256(repr(rnd.getstate()).encode()).hexdigest()
        return out

    def observe(value, args, before):
        np = sys.modules.get("numpy")
        after = rng_states()
        changed = sorted(k for k in before if after.get(k) != before[k])
        aliases, readonly = [], []
        if np is not None:
            inputs = [(f"argument {i + 1}{p}", a) for i, arg in enumerate(args) for p, a in arrays_in(arg)]
            for path, arr in arrays_in(value):
                if not arr.flags.writeable:
                    readonly.append(path)
                for name, a in inputs:
                    try:
                        shared = np.shares_memory(arr, a, max_work=100_000)
                    except Exception:  # noqa: BLE001 - too hard to decide exactly: use the bounds
                        shared = np.may_share_memory(arr, a)
                    if shared:
                        aliases.append([path, name])
        return {"rng_changed": changed, "aliases": aliases[:20], "readonly": readonly[:20]}

    def call_one(fn, req_args, req_kwargs):
        """One call of fn on decoded copies of the request's arguments: its reply (status ok or raised)."""
        param_names.clear()
        try:
            args = [dec(a) for a in req_args]
            kwargs = {k: dec(v) for k, v in req_kwargs.items()}
        except BaseException as err:  # noqa: B036 - a builder function failed or is missing
            return {"status": "raised", "type": type(err).__name__[:80],
                    "message": ("while preparing the arguments: " + str(err))[:400]}
        try:
            observing = bool(req.get("observe"))
            before = rng_states() if observing else None
            if req.get("fp_errors"):  # overflow and invalid values raise instead of warning
                import warnings
                numpy_mod = sys.modules.get("numpy")
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    if numpy_mod is not None:
                        with numpy_mod.errstate(over="raise", invalid="raise"):
                            value = fn(*args, **kwargs)
                    else:
                        value = fn(*args, **kwargs)
            else:
                value = fn(*args, **kwargs)
            reply = {"status": "ok", "value": enc(value)}
            if observing:
                reply["observed"] = observe(value, args, before)
            if req.get("return_args"):
                reply["args_after"] = [enc(a) for a in args]
            return reply
        except BaseException as err:  # noqa: B036 - SystemExit in a student function is a failure too
            try:
                message = str(err)[:400]
            except BaseException:  # noqa: B036
                message = "(the exception's message could not be printed)"
            return {"status": "raised", "type": type(err).__name__[:80], "message": message}

    fn = _ns.get(req["name"])  # noqa: F821
    if fn is None:
        reply = {"status": "missing"}
    elif not callable(fn):
        reply = {"status": "not_callable"}
    elif "many" in req:
        # Several calls of fn in one request, in the order given, each on its own decoded arguments, as
        # if the grader had sent them one by one; they stop at the first that raises or returns what is
        # not plain data, where the grader's check stops too.
        replies = []
        for req_args, req_kwargs in req["many"]:
            replies.append(call_one(fn, req_args, req_kwargs))
            if replies[-1]["status"] != "ok" or holds_rejected(replies[-1]["value"]):
                break
        reply = {"status": "many", "replies": replies}
    else:
        reply = call_one(fn, req["args"], req["kwargs"])
    sys.stdout.write(nonce + json.dumps(reply) + nonce)
    sys.stdout.flush()

