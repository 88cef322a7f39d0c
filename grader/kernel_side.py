# This file is NOT imported by the grader. Its text is sent to the student's kernel, where it
# calls one student function on inputs the grader chose and prints the result as plain data
# (JSON; arrays as raw bytes with dtype and shape). Nothing here decides a grade: the grader
# parses and validates the text in its own process and compares there. If a student's code has
# patched anything this file uses, the worst outcome is a garbled reply, which fails the check.
# It is executed once per kernel into a private dict (see KernelSession.call); each call then sets
# _req in that dict and runs _course_call(). Names there: _ns (the user namespace), _req (a JSON
# request string).


def _course_call():
    class _Skip(Exception):
        pass

    import base64
    import json
    import sys

    req = json.loads(_req)  # noqa: F821
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

    def enc_array(arr, tag):
        if arr.dtype.kind not in "biuf" or arr.dtype.names is not None:
            return {"__rejected__": f"array of dtype {arr.dtype}"}
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

    def enc(value, depth=0):
        np, torch = sys.modules.get("numpy"), sys.modules.get("torch")  # only if the student imported them
        if depth > 8:
            return {"__rejected__": "structure nested too deeply"}
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if abs(value) < 2 ** 63 else {"__rejected__": "integer too large"}
        if kind is float:
            return {"__float__": value.hex()}
        if kind is tuple:
            return {"__tuple__": [enc(v, depth + 1) for v in value]}
        if kind is list:
            return {"__list__": [enc(v, depth + 1) for v in value]}
        if kind is dict:
            if not all(type(k) is str for k in value):
                return {"__rejected__": "dict with non-string keys"}
            return {"__dict__": {k: enc(v, depth + 1) for k, v in value.items()}}
        if np is not None and kind is np.ndarray:
            return enc_array(value, "__nd__")
        if np is not None and kind in (np.float64, np.float32, np.float16, np.int64, np.int32,
                                       np.int16, np.int8, np.uint8, np.bool_):
            return enc_array(np.asarray(value), "__npscalar__")
        if torch is not None and kind is torch.Tensor:
            t = value.detach()
            if t.is_sparse or t.is_complex() or t.dtype in (torch.bfloat16,):
                return {"__rejected__": f"tensor of dtype {t.dtype}"}
            return enc_array(t.cpu().contiguous().numpy(), "__tensor__")
        if torch is not None and kind is torch.Size:
            return {"__tuple__": [int(v) for v in value]}
        if torch is not None and kind is torch.nn.Parameter:
            return enc_array(value.detach().cpu().contiguous().numpy(), "__tensor__")
        if torch is not None and isinstance(value, torch.nn.Module):
            return enc_module(value, depth)
        if torch is not None and isinstance(value, torch.optim.Optimizer):
            return enc_optimizer(value, depth)
        return {"__rejected__": "object of type " + getattr(kind, "__qualname__", "?")}

    fn = _ns.get(req["name"])  # noqa: F821
    if fn is None:
        reply = {"status": "missing"}
    elif not callable(fn):
        reply = {"status": "not_callable"}
    else:
        try:
            args = [dec(a) for a in req["args"]]
            kwargs = {k: dec(v) for k, v in req["kwargs"].items()}
        except BaseException as err:  # noqa: B036 - a builder function failed or is missing
            args = None
            reply = {"status": "raised", "type": type(err).__name__[:80],
                     "message": ("while preparing the arguments: " + str(err))[:400]}
        try:
            if args is None:
                raise _Skip
            value = fn(*args, **kwargs)
            reply = {"status": "ok", "value": enc(value)}
            if req.get("return_args"):
                reply["args_after"] = [enc(a) for a in args]
        except _Skip:
            pass
        except BaseException as err:  # noqa: B036 - SystemExit in a student function is a failure too
            try:
                message = str(err)[:400]
            except BaseException:  # noqa: B036
                message = "(the exception's message could not be printed)"
            reply = {"status": "raised", "type": type(err).__name__[:80], "message": message}
    sys.stdout.write(nonce + json.dumps(reply) + nonce)
    sys.stdout.flush()

