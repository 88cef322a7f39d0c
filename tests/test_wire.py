"""The plain-data format between the grader and a student's kernel accepts nothing else."""
import base64
import json

import numpy as np
import pytest

from grader import wire


def nd(arr):
    return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}


def test_round_trip_of_arrays_numbers_and_containers():
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    value = wire.decode(nd(arr))
    assert type(value) is np.ndarray and value.dtype == np.float64 and value.shape == (2, 3)
    assert np.array_equal(value, arr) and value.flags.writeable
    sent = wire.encode((arr, 1.5, [2, None], {"k": True}))
    back = wire.decode(sent)
    assert back[1] == 1.5 and back[2] == [2, None] and back[3] == {"k": True}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.0, 1e-310])
def test_floats_travel_exactly(value):
    back = wire.decode(wire.encode(value))
    assert (np.isnan(back) and np.isnan(value)) or (back == value and np.signbit(back) == np.signbit(value))


@pytest.mark.parametrize("node, match", [
    ({"__nd__": ["|O", [1], "AAAAAAAAAAA="]}, "plain numeric"),
    ({"__nd__": ["<U4", [1], "AAAAAAAAAAA="]}, "plain numeric"),
    ({"__nd__": ["<f8", [2], "AAAAAAAAAAA="]}, "does not match"),
    ({"__nd__": ["<f8", [-1], ""]}, "shape"),
    ({"__nd__": ["<f8", [10**6, 10**6], ""]}, "too large"),
    ({"__pickle__": "gASVAAAAAAAAAAA="}, "unexpected"),
    ({"__nd__": ["<f8", [1], "AAAAAAAAAAA="], "extra": 1}, "unexpected"),
    (2 ** 70, "too large"),
    (1.5, "unexpected"),  # raw JSON floats are not accepted: floats travel as exact hex
])
def test_anything_but_plain_data_is_refused(node, match):
    with pytest.raises(wire.WireError, match=match):
        wire.decode(node)


def test_deep_nesting_is_refused():
    node = 1
    for _ in range(20):
        node = {"__list__": [node]}
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(node)


def test_a_rejected_value_equals_nothing():
    r = wire.decode({"__rejected__": "object of type Fake"})
    assert isinstance(r, wire.Rejected)
    assert r != r and not (r == wire.Rejected("object of type Fake"))


def test_requests_are_ascii_json_that_survive_travelling_as_bytes():
    """A request travels either as a str literal in the cell's source or, when long, as UTF-8 bytes in a
    comm message (grader.kernel.INLINE_MAX): it is ASCII JSON, so both carry the same text, exactly."""
    from grader.kernel import call_many_request, call_request
    args = (np.linspace(-1, 1, 7), "café ☃", {"ключ": [1.5, None, (2, float("nan"))]})
    nonce, req = call_request("f", args, {"name": "naïve"}, False)
    assert req.isascii() and nonce in req
    assert req.encode("utf-8").decode("utf-8") == req
    back = json.loads(req)
    assert back["nonce"] == nonce and back["kwargs"] == {"name": "naïve"}
    got = [wire.decode(a) for a in back["args"]]
    assert np.array_equal(got[0], args[0]) and got[1] == args[1] and list(got[2]) == ["ключ"]
    assert got[2]["ключ"][:2] == [1.5, None] and np.isnan(got[2]["ключ"][2][1])
    nonce2, many = call_many_request("f", [(args, {}), ((), {"name": "naïve"})])
    assert many.isascii() and nonce2 != nonce and len(json.loads(many)["many"]) == 2
