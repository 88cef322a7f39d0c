"""Plain data between the grader and a student's kernel.

Inputs go to the kernel as JSON; results come back as JSON that this module validates strictly:
arrays travel as (dtype, shape, raw bytes) and are rebuilt here with `np.frombuffer`, so what a check
compares is always a fresh, plain `numpy.ndarray` created by the grader itself. No pickle, no object
dtype, no subclasses: anything else the kernel sends is a `WireError`, which fails the check.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import numpy as np

_DTYPE = re.compile(r"^[<>|=](b1|[iu][1248]|f[248])$")
MAX_ELEMENTS = 50_000_000
MAX_DEPTH = 10


class WireError(ValueError):
    """The kernel's reply is not plain data of the allowed kinds."""


@dataclass(frozen=True)
class Rejected:
    """A value the kernel refused to encode (for example an ndarray subclass); never equal to anything.
    `what` says what it is and what to return instead; `at` is where it sits in the result ("[2]")."""
    what: str
    at: str = ""

    def __eq__(self, other):  # a rejected value matches nothing, not even another rejected one
        return False

    __hash__ = object.__hash__


@dataclass(frozen=True)
class FromTensor:
    """Marks a value that was a torch.Tensor in the kernel (the array is in `.array`)."""
    array: np.ndarray


@dataclass(frozen=True)
class Build:
    """An argument made inside the kernel by calling the notebook's function `name(*args, **kwargs)`
    (for objects that cannot travel as plain data, such as a torch model)."""
    name: str
    args: tuple = ()
    kwargs: dict | None = None


@dataclass(frozen=True)
class ModuleState:
    """A torch.nn.Module as plain data: parameters name -> (requires_grad, array), buffers, mode."""
    cls: str
    training: bool
    params: dict
    buffers: dict


@dataclass(frozen=True)
class OptimizerState:
    """A torch optimizer as plain data: groups of {"params": [names], "hyper": {lr, ...}}.
    Parameter names are "<k>.<name>" for the k-th module returned in the same value."""
    cls: str
    groups: list


def encode(value):
    """Encode grader-chosen inputs (numpy arrays, torch tensors, numbers, containers) for the kernel."""
    import torch
    if isinstance(value, torch.Tensor):
        arr = value.detach().cpu().numpy()
        return {"__tensor__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, float):
        return {"__float__": value.hex()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"__list__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": {str(k): encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Build):
        return {"__build__": [value.name, [encode(a) for a in value.args],
                              {k: encode(v) for k, v in (value.kwargs or {}).items()}]}
    raise TypeError(f"cannot send {type(value).__name__} to a kernel")


def _array(spec) -> np.ndarray:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise WireError("malformed array")
    dtype, shape, data = spec
    if not (isinstance(dtype, str) and _DTYPE.match(dtype)):
        raise WireError(f"dtype {dtype!r} is not a plain numeric dtype")
    if not (isinstance(shape, list) and len(shape) <= 8 and all(type(n) is int and 0 <= n for n in shape)):
        raise WireError("malformed shape")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count > MAX_ELEMENTS:
        raise WireError("array too large")
    if not isinstance(data, str):
        raise WireError("malformed array data")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    dt = np.dtype(dtype)
    if len(raw) != count * dt.itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _tensor(node, depth):
    value = decode(node, depth + 1)
    if not isinstance(value, FromTensor):
        raise WireError("malformed module")
    return value.array


def _module(body, depth):
    params, buffers = {}, {}
    try:
        for name, requires_grad, node in body["params"]:
            if type(name) is not str or type(requires_grad) is not bool:
                raise WireError("malformed module")
            params[name] = (requires_grad, _tensor(node, depth))
        for name, node in body["buffers"]:
            buffers[str(name)] = _tensor(node, depth)
        return ModuleState(str(body["class"]), bool(body["training"]), params, buffers)
    except (KeyError, TypeError, ValueError) as err:
        raise WireError("malformed module") from err


def _optimizer(body, depth):
    try:
        groups = []
        for group in body["groups"]:
            names = [str(n) for n in group["params"]]
            hyper = {str(k): decode(v, depth + 1) for k, v in group["hyper"].items()}
            groups.append({"params": names, "hyper": hyper})
        return OptimizerState(str(body["class"]), groups)
    except (KeyError, TypeError, ValueError) as err:
        raise WireError("malformed optimizer") from err


@dataclass(frozen=True)
class Observation:
    """What the kernel saw around one call: global random states it changed ("numpy", "torch",
    "python"), result arrays that share memory with an argument ([result path, argument]) and
    result arrays that are read-only (paths like "[0]", "" for the result itself)."""
    rng_changed: tuple = ()
    aliases: tuple = ()
    readonly: tuple = ()


def decode_observation(node) -> Observation:
    if not isinstance(node, dict):
        raise WireError("malformed observation")
    try:
        rng = tuple(str(v)[:20] for v in node["rng_changed"])
        aliases = tuple((str(a)[:200], str(b)[:200]) for a, b in node["aliases"])
        readonly = tuple(str(v)[:200] for v in node["readonly"])
    except (KeyError, TypeError, ValueError) as err:
        raise WireError("malformed observation") from err
    return Observation(rng, aliases, readonly)


def find_rejected(value, at="", depth=0):
    """The first `Rejected` inside a decoded value (tuples, lists, dicts), or None."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, Rejected):
        return value if value.at or not at else Rejected(value.what, at)
    items = enumerate(value) if isinstance(value, (tuple, list)) else \
        value.items() if isinstance(value, dict) else ()
    for k, v in items:
        found = find_rejected(v, f"{at}[{k!r}]" if isinstance(k, str) else f"{at}[{k}]", depth + 1)
        if found is not None:
            return found
    return None


def decode(node, depth: int = 0):
    """Rebuild a value from the kernel's JSON, accepting only plain data."""
    if depth > MAX_DEPTH:
        raise WireError("structure nested too deeply")
    if node is None or type(node) in (bool, str):
        return node
    if type(node) is int:
        if abs(node) >= 2 ** 63:
            raise WireError("integer too large")
        return node
    if type(node) is dict and len(node) == 1:
        (tag, body), = node.items()
        if tag == "__nd__":
            return _array(body)
        if tag == "__npscalar__":
            return _array(body)[()]
        if tag == "__tensor__":
            return FromTensor(_array(body))
        if tag == "__float__" and isinstance(body, str):
            try:
                return float.fromhex(body)
            except (ValueError, OverflowError) as err:
                raise WireError("malformed float") from err
        if tag == "__tuple__" and type(body) is list:
            return tuple(decode(v, depth + 1) for v in body)
        if tag == "__list__" and type(body) is list:
            return [decode(v, depth + 1) for v in body]
        if tag == "__dict__" and type(body) is dict:
            return {str(k): decode(v, depth + 1) for k, v in body.items()}
        if tag == "__rejected__" and type(body) is str:
            return Rejected(body[:300])
        if tag == "__rejected__" and type(body) is list and len(body) == 2 \
                and all(type(v) is str for v in body):
            return Rejected(body[0][:300], body[1][:200])
        if tag == "__module__" and type(body) is dict:
            return _module(body, depth)
        if tag == "__optimizer__" and type(body) is dict:
            return _optimizer(body, depth)
    raise WireError("unexpected value in the kernel's reply")
