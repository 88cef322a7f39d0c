"""The plain-data format between the grader and a student's kernel accepts nothing else."""
import base64

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
