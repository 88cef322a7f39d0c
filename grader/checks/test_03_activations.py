"""Hidden checks of notebook 03, activation functions.

Every elementwise layer is checked end to end, `name_backward(dout, name_forward(x, ...)[1])`, never
through the contents of its cache: against torch and autograd in float64 (an independent oracle) and
against the reference solution, on random shapes and scales drawn from `rng` at grade time, plus the
edge cases each docstring promises (huge |x|, exact zeros with the stated slope there, the default
alpha, the forward's alpha reaching the backward pass). Maxout is compared with a torch maxout built
from a max over the last axis, on continuous random inputs (ties have probability 0; the tie
convention is stated in the notebook but not tested). Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import expect_array, expect_close, expect_tuple, expect_unchanged, part

# Tolerances (float64): |got - want| <= ATOL + RTOL * |want| entrywise. The same formula computed
# in a different but equivalent way agrees to a few ulps; ATOL absorbs the cancellation of
# 1 - sigma(x) next to 1, where torch and an exact formula differ by about 1e-16 in absolute terms.
RTOL, ATOL = 1e-10, 1e-12
RTOL_MAXOUT, ATOL_MAXOUT = 1e-9, 1e-11  # sums over the batch and over D in matrix products


def t(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def torch_fb(fn, x, dout):
    xt = t(x, grad=True)
    out = fn(xt)
    out.backward(t(dout))
    return out.detach().numpy(), xt.grad.numpy()


def random_array(rng, scale=None):
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 7, size=ndim))
    scale = scale if scale is not None else float(rng.choice([0.1, 1.0, 3.0, 10.0, 40.0]))
    x = rng.normal(0.0, scale, size=shape)
    # both branches of every piecewise activation, however small the shape: the first entry is
    # negative, the last positive (when there are two)
    x.flat[-1] = abs(x.flat[-1])
    x.flat[0] = -abs(x.flat[0])
    return x, rng.normal(size=shape)


def check_layer(student, ref, name, torch_fn, x, dout, case, *args):
    """Forward and backward of layer `name` (called with extra positional args) vs torch and the
    reference."""
    want_out, want_dx = torch_fb(torch_fn, x, dout)
    got = expect_tuple(getattr(student, f"{name}_forward")(x, *args), 2, f"{name}_forward")
    out = expect_close(got[0], want_out, f"{name}_forward output", case, rtol=RTOL, atol=ATOL)
    dx = getattr(student, f"{name}_backward")(dout, got[1])
    expect_close(dx, want_dx, f"{name}_backward dx", case, rtol=RTOL, atol=ATOL)
    ref_out, ref_cache = getattr(ref, f"{name}_forward")(x, *args)
    expect_close(out, ref_out, f"{name}_forward output", case, rtol=RTOL, atol=ATOL)
    expect_close(dx, getattr(ref, f"{name}_backward")(dout, ref_cache), f"{name}_backward dx", case,
                 rtol=RTOL, atol=ATOL)


def check_pure(student, name, x, dout, *args):
    got, after = student.call_keeping_args(f"{name}_forward", x, *args)
    expect_unchanged([x], after, f"{name}_forward")
    got = expect_tuple(got, 2, f"{name}_forward")
    _, after = student.call_keeping_args(f"{name}_backward", dout, got[1])
    expect_unchanged([dout], after, f"{name}_backward")


def huge(rng, shape):
    """|x| between 750 and 1000 (exp overflows float64 above about 709.8), both signs always present."""
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(750.0, 1000.0, size=shape)
    x.flat[0], x.flat[-1] = abs(x.flat[0]), -abs(x.flat[-1])
    return x


def with_zeros(rng, x):
    x = x.copy()
    x.flat[rng.choice(x.size, size=max(1, x.size // 3), replace=False)] = 0.0
    return x


# -- sigmoid --------------------------------------------------------------------------------------
@part("sigmoid")
def test_sigmoid_matches_torch(student, ref, rng):
    """sigmoid forward and backward match torch.sigmoid and autograd on random arrays"""
    for _ in range(6):
        x, dout = random_array(rng)
        check_layer(student, ref, "sigmoid", torch.sigmoid, x, dout, "random inputs")


@part("sigmoid")
def test_sigmoid_huge_inputs(student, ref, rng):
    """sigmoid is exact (no NaN, no inf) and has zero gradient for |x| of several hundred"""
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 8)))
    check_layer(student, ref, "sigmoid", torch.sigmoid, huge(rng, shape), rng.normal(size=shape),
                "huge inputs (|x| between 750 and 1000)")
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(20.0, 45.0, size=shape)
    check_layer(student, ref, "sigmoid", torch.sigmoid, x, rng.normal(size=shape), "large inputs (|x| of 20 to 45)")


@part("sigmoid")
def test_sigmoid_leaves_inputs_unchanged(student, rng):
    """sigmoid_forward and sigmoid_backward do not modify their inputs"""
    check_pure(student, "sigmoid", *random_array(rng, scale=3.0))


# -- tanh -----------------------------------------------------------------------------------------
@part("tanh")
def test_tanh_matches_torch(student, ref, rng):
    """tanh forward and backward match torch.tanh and autograd, also for huge inputs"""
    for _ in range(5):
        x, dout = random_array(rng)
        check_layer(student, ref, "tanh", torch.tanh, x, dout, "random inputs")
    shape = (int(rng.integers(2, 8)),)
    check_layer(student, ref, "tanh", torch.tanh, huge(rng, shape), rng.normal(size=shape), "huge inputs")


@part("tanh")
def test_tanh_leaves_inputs_unchanged(student, rng):
    """tanh_forward and tanh_backward do not modify their inputs"""
    check_pure(student, "tanh", *random_array(rng, scale=2.0))


# -- relu -----------------------------------------------------------------------------------------
@part("relu")
def test_relu_matches_torch(student, ref, rng):
    """relu forward and backward match torch.relu and autograd on random arrays"""
    for _ in range(5):
        x, dout = random_array(rng)
        check_layer(student, ref, "relu", torch.relu, x, dout, "random inputs")


@part("relu")
def test_relu_slope_zero_at_zero(student, ref, rng):
    """relu_backward uses the stated slope 0 at x = 0; huge inputs pass through"""
    x, dout = random_array(rng, scale=1.0)
    check_layer(student, ref, "relu", torch.relu, with_zeros(rng, x), dout, "inputs with exact zeros (slope 0 there)")
    shape = (int(rng.integers(2, 10)),)
    check_layer(student, ref, "relu", torch.relu, huge(rng, shape) * 1e290, rng.normal(size=shape),
                "huge inputs (|x| about 1e293)")


@part("relu")
def test_relu_leaves_inputs_unchanged(student, rng):
    """relu_forward and relu_backward do not modify their inputs"""
    check_pure(student, "relu", *random_array(rng, scale=1.0))


# -- leaky relu -----------------------------------------------------------------------------------
@part("leaky_relu")
def test_leaky_relu_matches_torch(student, ref, rng):
    """leaky_relu forward and backward match F.leaky_relu and autograd for several alphas"""
    for _ in range(5):
        x, dout = random_array(rng)
        alpha = float(rng.uniform(0.02, 0.5))
        check_layer(student, ref, "leaky_relu", lambda z: F.leaky_relu(z, negative_slope=alpha), x, dout,
                    "random inputs, alpha given (the backward pass must use it)", alpha)


@part("leaky_relu")
def test_leaky_relu_default_alpha_and_zeros(student, ref, rng):
    """leaky_relu defaults to alpha = 0.01 and uses the stated slope alpha at x = 0"""
    x, dout = random_array(rng, scale=2.0)
    check_layer(student, ref, "leaky_relu", F.leaky_relu, x, dout, "the default alpha")
    alpha = float(rng.uniform(0.05, 0.5))
    check_layer(student, ref, "leaky_relu", lambda z: F.leaky_relu(z, negative_slope=alpha), with_zeros(rng, x),
                dout, "inputs with exact zeros (slope alpha there)", alpha)


@part("leaky_relu")
def test_leaky_relu_leaves_inputs_unchanged(student, rng):
    """leaky_relu_forward and leaky_relu_backward do not modify their inputs"""
    check_pure(student, "leaky_relu", *random_array(rng, scale=1.0), 0.1)


# -- elu ------------------------------------------------------------------------------------------
@part("elu")
def test_elu_matches_torch(student, ref, rng):
    """elu forward and backward match F.elu and autograd for several alphas"""
    for _ in range(5):
        x, dout = random_array(rng, scale=float(rng.choice([0.1, 1.0, 3.0])))
        alpha = float(rng.uniform(0.1, 3.0))
        check_layer(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), x, dout,
                    "random inputs, alpha given (the backward pass must use it)", alpha)


@part("elu")
def test_elu_default_alpha_zeros_and_huge(student, ref, rng):
    """elu defaults to alpha = 1, uses the slope alpha at x = 0, and is finite for huge inputs"""
    x, dout = random_array(rng, scale=2.0)
    check_layer(student, ref, "elu", F.elu, x, dout, "the default alpha")
    alpha = float(rng.uniform(0.2, 0.8))
    check_layer(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), with_zeros(rng, x), dout,
                "inputs with exact zeros (slope alpha there)", alpha)
    shape = (int(rng.integers(2, 10)),)
    check_layer(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), huge(rng, shape), rng.normal(size=shape),
                "huge inputs (|x| between 750 and 1000)", alpha)


@part("elu")
def test_elu_leaves_inputs_unchanged(student, rng):
    """elu_forward and elu_backward do not modify their inputs"""
    check_pure(student, "elu", *random_array(rng, scale=1.0), 0.7)


# -- maxout ---------------------------------------------------------------------------------------
def maxout_problem(rng, n=None, k=None):
    n = n if n is not None else int(rng.integers(1, 20))
    d, h = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    k = k if k is not None else int(rng.integers(2, 5))
    return (rng.normal(size=(n, d)), rng.normal(size=(d, h, k)), rng.normal(size=(h, k)),
            rng.normal(size=(n, h)))


def torch_maxout(x, W, b, dout):
    xt, Wt, bt = t(x, True), t(W, True), t(b, True)
    out = (torch.einsum("nd,dhk->nhk", xt, Wt) + bt).max(dim=-1).values
    out.backward(t(dout))
    return out.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def check_maxout(student, ref, x, W, b, dout, case):
    got = expect_tuple(student.maxout_forward(x, W, b), 2, "maxout_forward")
    want_out, want_dx, want_dW, want_db = torch_maxout(x, W, b, dout)
    out = expect_close(got[0], want_out, "maxout_forward output", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
    grads = expect_tuple(student.maxout_backward(dout, got[1]), 3, "maxout_backward")
    ref_out, ref_cache = ref.maxout_forward(x, W, b)
    expect_close(out, ref_out, "maxout_forward output", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
    for name, g, w, r in zip(("dx", "dW", "db"), grads, (want_dx, want_dW, want_db), ref.maxout_backward(dout, ref_cache)):
        expect_close(g, w, f"maxout_backward {name}", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
        expect_close(g, r, f"maxout_backward {name}", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)


@part("maxout")
def test_maxout_matches_torch(student, ref, rng):
    """maxout forward and backward (dx, dW, db) match a torch maxout and autograd"""
    for _ in range(6):
        check_maxout(student, ref, *maxout_problem(rng), "random layer, continuous inputs")


@part("maxout")
def test_maxout_edge_cases(student, ref, rng):
    """maxout handles one piece (k = 1), one example, and one input feature"""
    check_maxout(student, ref, *maxout_problem(rng, k=1), "one piece per unit (k = 1)")
    check_maxout(student, ref, *maxout_problem(rng, n=1), "a single example")
    n, h, k = int(rng.integers(2, 10)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    check_maxout(student, ref, rng.normal(size=(n, 1)), rng.normal(size=(1, h, k)), rng.normal(size=(h, k)),
                 rng.normal(size=(n, h)), "one input feature (D = 1)")


@part("maxout")
def test_maxout_leaves_inputs_unchanged(student, rng):
    """maxout_forward and maxout_backward do not modify their inputs"""
    x, W, b, dout = maxout_problem(rng)
    got, after = student.call_keeping_args("maxout_forward", x, W, b)
    expect_unchanged([x, W, b], after, "maxout_forward")
    got = expect_tuple(got, 2, "maxout_forward")
    expect_array(got[0], (x.shape[0], W.shape[1]), "maxout_forward output")
    _, after = student.call_keeping_args("maxout_backward", dout, got[1])
    expect_unchanged([dout], after, "maxout_backward")
