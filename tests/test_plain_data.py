"""The plain-data rule, stated once in coursekit and applied by the grader's kernel side: the two agree
on every kind of value, a result that breaks the rule fails with a message naming where the offending
value sits, and what the kernel observes around a call (aliasing, read-only results, global random
state, overflow as an error) reaches the checks as plain data."""
import collections
import dataclasses
import types

import numpy as np
import pytest
import torch

import coursekit
from grader.harness import (CheckFailure, StudentProxy, expect_no_alias, expect_rng_untouched,
                            expect_unchanged, expect_writable)
from grader.kernel import InProcessSession, StudentRaised

Cache = collections.namedtuple("Cache", "x w")


@dataclasses.dataclass
class Config:
    lr: float


class MyTuple(tuple):
    pass


PLAIN = {
    "numbers": (1, 2.5, True, None, "relu", np.float64(1.5), np.int64(3)),
    "arrays in a dict": {"W": np.ones((2, 3)), "b": np.zeros(3), "step": 4},
    "nested lists": [[np.arange(3)], (np.ones(1, dtype=bool), [])],
}
NOT_PLAIN = {  # value, where, words the message must contain
    "namedtuple inside a tuple": ((np.ones(2), (1, Cache(1, 2))), "[1][1]", "namedtuple (Cache): return a plain tuple"),
    "dataclass": ((Config(0.1),), "[0]", "dataclass (Config)"),
    "SimpleNamespace": ([types.SimpleNamespace(lr=1)], "[0]", "SimpleNamespace"),
    "int-keyed dict": ({"a": {1: np.ones(2)}}, "['a']", "key of type int"),
    "ndarray subclass": ((np.matrix([[1.0]]),), "[0]", "subclass of numpy.ndarray"),
    "object array": ({"x": np.array([object()], dtype=object)}, "['x']", "dtype object"),
    "closure": ((lambda v: v,), "[0]", "function"),
    "tuple subclass": ((MyTuple((1, 2)),), "[0]", "subclass of tuple"),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_values_pass_both(name):
    value = PLAIN[name]
    coursekit.check_plain_data(value)
    student = StudentProxy(InProcessSession({"f": lambda: value}))
    student.f()  # no CheckFailure


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_values_that_break_the_rule_fail_both_naming_where(name):
    value, where, words = NOT_PLAIN[name]
    with pytest.raises(AssertionError) as visible:
        coursekit.check_plain_data(value, name="cache")
    assert f"cache{where} is" in str(visible.value) and words in str(visible.value)
    student = StudentProxy(InProcessSession({"layer_forward": lambda: value}))
    with pytest.raises(CheckFailure) as hidden:
        student.layer_forward()
    assert f"`layer_forward`'s result{where} is" in str(hidden.value) and words in str(hidden.value)


def test_a_result_that_is_itself_not_plain_names_the_function():
    student = StudentProxy(InProcessSession({"f": lambda: Cache(1, 2)}))
    with pytest.raises(CheckFailure, match=r"`f` returned a namedtuple \(Cache\): return a plain tuple"):
        student.f()


def test_tensors_are_plain_only_where_allowed():
    with pytest.raises(AssertionError, match="Tensor"):
        coursekit.check_plain_data((torch.ones(2),))
    coursekit.check_plain_data((torch.ones(2),), allow_tensor=True)


def namespace():
    ns = {}
    exec("import numpy as np, random, torch\n"  # noqa: S102 - the test's own code
         "def view(x): return x[:1], x.copy()\n"
         "def same(x): return x\n"
         "def fresh(x): return x + 1.0\n"
         "def readonly(x): return np.broadcast_to(x, (2,) + x.shape)\n"
         "def global_numpy(x): return x + np.random.rand()\n"
         "def global_torch(x): return x + float(torch.rand(()))\n"
         "def global_python(x): return x + random.random()\n"
         "def local_rng(x, seed): return x + np.random.default_rng(seed).normal()\n"
         "def overflow(x): return np.exp(x)\n"
         "def scale_list(xs): xs[0] = xs[0] * 2; return xs[0]\n", ns)
    return ns


def test_observation_of_aliasing_readonly_and_random_state():
    student = StudentProxy(InProcessSession(namespace()))
    x = np.arange(4.0)
    _, after, seen = student.observe("view", x)
    assert seen.aliases == (("[0]", "argument 1"),)
    with pytest.raises(CheckFailure, match=r"result\[0\] shares memory with argument 1"):
        expect_no_alias(seen, "view")
    assert student.observe("same", x)[2].aliases == (("", "argument 1"),)
    _, _, seen = student.observe("fresh", x)
    expect_no_alias(seen, "fresh")
    expect_writable(seen, "fresh")
    expect_rng_untouched(seen, "fresh")
    with pytest.raises(CheckFailure, match="read-only"):
        expect_writable(student.observe("readonly", x)[2], "readonly")
    for name, which in (("global_numpy", "numpy"), ("global_torch", "torch"), ("global_python", "random module")):
        with pytest.raises(CheckFailure, match=which):
            expect_rng_untouched(student.observe(name, x)[2], name)
    expect_rng_untouched(student.observe("local_rng", x, 3)[2], "local_rng")


def test_overflow_is_an_error_only_when_asked():
    student = StudentProxy(InProcessSession(namespace()))
    big = np.array([800.0, -800.0])
    with np.errstate(over="ignore"):
        assert np.isinf(student.overflow(big)[0])
    with pytest.raises(StudentRaised, match="FloatingPointError"):
        student.call_strict("overflow", big)


def test_every_argument_is_compared_whatever_its_kind():
    student = StudentProxy(InProcessSession(namespace()))
    xs = [np.ones(2), np.zeros(2)]
    _, after = student.call_keeping_args("scale_list", xs)
    with pytest.raises(CheckFailure, match="argument number 1"):
        expect_unchanged([xs], after, "scale_list")
    expect_unchanged([{"a": 1.0, "b": [np.ones(1)]}], [{"a": 1.0, "b": [np.ones(1)]}], "f")
    with pytest.raises(CheckFailure):
        expect_unchanged([{"a": 1.0}], [{"a": 2.0}], "f")
