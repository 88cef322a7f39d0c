"""Hidden checks of notebook 03, activation functions.

Every elementwise layer is checked end to end, `name_backward(dout, name_forward(x, ...)[1])`, never
through the contents of its cache: against torch and autograd in float64 (an independent oracle) and
against the reference solution, on random shapes and scales drawn from `rng` at grade time, plus the
edge cases each docstring promises (huge |x|, exact zeros with the stated slope there, the default
alpha, the forward's alpha reaching the backward pass, also when a second forward with another alpha
came in between), whole arrays of huge values of one sign with numpy's overflow and invalid-value
warnings raised as errors where the notebook promises no overflow, and purity: x, dout and the
cache are never modified and dx is a new array. Maxout is compared with a torch maxout built from a
max over the last axis on continuous random inputs, and with the stated tie convention (the whole
gradient to the first maximal piece) on integer inputs with exact ties. Messages name the case,
never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_no_alias, expect_tuple,
                            expect_unchanged, part)

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
    # the sum of out * dout gives autograd exactly dout as out's gradient: the same gradients as
    # out.backward(t(dout)) bit for bit, without the shape check of a given gradient, which imports sympy
    # on its first use (about 0.4 s of CPU per grading process)
    (out * t(dout)).sum().backward()
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
    """x, dout and the cache are exactly as they were after forward and backward; dx is a new array."""
    got, after = student.call_keeping_args(f"{name}_forward", x, *args)
    expect_unchanged([x, *args], after, f"{name}_forward")
    got = expect_tuple(got, 2, f"{name}_forward")
    dx, after, seen = student.observe(f"{name}_backward", dout, got[1])
    expect_unchanged([dout, got[1]], after, f"{name}_backward (dout or the cache)")
    expect_no_alias(seen, f"{name}_backward")
    expect_array(dx, x.shape, f"{name}_backward dx")


def check_strict(student, ref, name, torch_fn, x, dout, case, *args):
    """Forward and backward with numpy's overflow and invalid-value warnings raised as errors."""
    want_out, want_dx = torch_fb(torch_fn, x, dout)
    got = expect_tuple(student.call_strict(f"{name}_forward", x, *args), 2, f"{name}_forward")
    expect_close(got[0], want_out, f"{name}_forward output", case, rtol=RTOL, atol=ATOL)
    dx = student.call_strict(f"{name}_backward", dout, got[1])
    expect_close(dx, want_dx, f"{name}_backward dx", case, rtol=RTOL, atol=ATOL)


def huge(rng, shape):
    """|x| between 750 and 1000 (exp overflows float64 above about 709.8), both signs always present."""
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(750.0, 1000.0, size=shape)
    x.flat[0], x.flat[-1] = abs(x.flat[0]), -abs(x.flat[-1])
    return x


def one_sign_rows(rng):
    """A batch whose rows are each of ONE sign and huge (all about +800, all about -800, ...), with
    rows of ordinary scale in between: every row kind is always present."""
    n, d = int(rng.integers(4, 9)), int(rng.integers(2, 8))
    x = rng.normal(0.0, 1.0, size=(n, d))
    x[0] = rng.uniform(750.0, 1000.0, size=d)
    x[1] = -rng.uniform(750.0, 1000.0, size=d)
    x[2] = rng.uniform(360.0, 700.0, size=d) * -1.0  # 2x overflows exp here: catches 2 sigma(2x) - 1 done naively
    x[3] = rng.uniform(1e5, 1e300, size=d) * rng.choice([-1.0, 1.0])
    return x, rng.normal(size=x.shape)


def with_zeros(rng, x):
    x = x.copy()
    x.flat[rng.choice(x.size, size=max(1, x.size // 3), replace=False)] = 0.0
    return x


def check_two_settings(student, ref, name, torch_of, rng, alphas):
    """Two forwards with different alphas before either backward: each backward uses its own cache's
    alpha (nothing may be remembered outside the cache)."""
    x, dout = random_array(rng, scale=2.0)
    caches = []
    for alpha in alphas:
        got = expect_tuple(getattr(student, f"{name}_forward")(x, alpha), 2, f"{name}_forward")
        caches.append(got[1])
    for alpha, cache in reversed(list(zip(alphas, caches))):
        _, want_dx = torch_fb(torch_of(alpha), x, dout)
        expect_close(getattr(student, f"{name}_backward")(dout, cache), want_dx, f"{name}_backward dx",
                     "two forwards with different alphas, then the backward of each (the cache must carry "
                     "its own alpha)", rtol=RTOL, atol=ATOL)


# -- sigmoid --------------------------------------------------------------------------------------
@part("sigmoid", states=["Elementwise logistic sigmoid 1 / (1 + exp(-x))", "dout * sigma(x) * (1 - sigma(x))"],
      shown=["sigmoid_forward vs torch.sigmoid", "sigmoid_backward vs torch.autograd"])
def test_sigmoid_matches_torch(student, ref, rng):
    """sigmoid forward and backward match torch.sigmoid and autograd on random arrays"""
    for _ in range(6):
        x, dout = random_array(rng)
        check_layer(student, ref, "sigmoid", torch.sigmoid, x, dout, "random inputs")


@part("sigmoid", states=["no overflow warning and no NaN", "whole rows of huge values of one sign"],
      shown=["Huge inputs", "whole rows of one sign"])
def test_sigmoid_huge_inputs(student, ref, rng):
    """sigmoid is exact, never overflows and has zero gradient for |x| of several hundred"""
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 8)))
    check_strict(student, ref, "sigmoid", torch.sigmoid, huge(rng, shape), rng.normal(size=shape),
                 "huge inputs (|x| between 750 and 1000), overflow warnings raised as errors")
    check_strict(student, ref, "sigmoid", torch.sigmoid, *one_sign_rows(rng),
                 "whole rows of huge values of one sign, overflow warnings raised as errors")
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(20.0, 45.0, size=shape)
    check_layer(student, ref, "sigmoid", torch.sigmoid, x, rng.normal(size=shape), "large inputs (|x| of 20 to 45)")


@part("sigmoid", states=["never modify their inputs (neither x nor dout nor the cache)", "dx is a new array"],
      shown=["an input or the cache was modified"])
def test_sigmoid_leaves_inputs_unchanged(student, rng):
    """sigmoid_forward and sigmoid_backward do not modify x, dout or the cache"""
    check_pure(student, "sigmoid", *random_array(rng, scale=3.0))


# -- tanh -----------------------------------------------------------------------------------------
@part("tanh", states=["dx = dout * (1 - tanh(x)**2)", "no overflow warning for any input"],
      shown=["tanh_forward vs torch.tanh", "whole rows of one sign"])
def test_tanh_matches_torch(student, ref, rng):
    """tanh forward and backward match torch.tanh and autograd, also for huge inputs, without overflow"""
    for _ in range(5):
        x, dout = random_array(rng)
        check_layer(student, ref, "tanh", torch.tanh, x, dout, "random inputs")
    shape = (int(rng.integers(2, 8)),)
    check_strict(student, ref, "tanh", torch.tanh, huge(rng, shape), rng.normal(size=shape),
                 "huge inputs, overflow warnings raised as errors")
    check_strict(student, ref, "tanh", torch.tanh, *one_sign_rows(rng),
                 "whole rows of huge values of one sign, overflow warnings raised as errors")


@part("tanh", states=["never modify their inputs (neither x nor dout nor the cache)", "dx is a new array"],
      shown=["an input or the cache was modified"])
def test_tanh_leaves_inputs_unchanged(student, rng):
    """tanh_forward and tanh_backward do not modify x, dout or the cache"""
    check_pure(student, "tanh", *random_array(rng, scale=2.0))


# -- relu -----------------------------------------------------------------------------------------
@part("relu", states=["Elementwise max(0, x)"], shown=["relu_forward vs torch.relu"])
def test_relu_matches_torch(student, ref, rng):
    """relu forward and backward match torch.relu and autograd on random arrays"""
    for _ in range(5):
        x, dout = random_array(rng)
        check_layer(student, ref, "relu", torch.relu, x, dout, "random inputs")


@part("relu", states=["the derivative at $x = 0$ is 0"], shown=["slope 0 at x = 0", "relu at +-1e300"])
def test_relu_slope_zero_at_zero(student, ref, rng):
    """relu_backward uses the stated slope 0 at x = 0; huge inputs pass through"""
    x, dout = random_array(rng, scale=1.0)
    check_layer(student, ref, "relu", torch.relu, with_zeros(rng, x), dout, "inputs with exact zeros (slope 0 there)")
    shape = (int(rng.integers(2, 10)),)
    check_layer(student, ref, "relu", torch.relu, huge(rng, shape) * 1e290, rng.normal(size=shape),
                "huge inputs (|x| about 1e293)")


@part("relu", states=["never modify their inputs (neither x nor dout nor the cache)", "dout itself is not modified"],
      shown=["an input or the cache was modified"])
def test_relu_leaves_inputs_unchanged(student, rng):
    """relu_forward and relu_backward do not modify x, dout or the cache"""
    check_pure(student, "relu", *random_array(rng, scale=1.0))


# -- leaky relu -----------------------------------------------------------------------------------
@part("leaky_relu", states=["alpha : float, the slope of the negative side", "must carry alpha"],
      shown=["alpha = 0.2 against F.leaky_relu"])
def test_leaky_relu_matches_torch(student, ref, rng):
    """leaky_relu forward and backward match F.leaky_relu and autograd for several alphas"""
    for _ in range(5):
        x, dout = random_array(rng)
        alpha = float(rng.uniform(0.02, 0.5))
        check_layer(student, ref, "leaky_relu", lambda z: F.leaky_relu(z, negative_slope=alpha), x, dout,
                    "random inputs, alpha given (the backward pass must use it)", alpha)


@part("leaky_relu", states=["default 0.01", "slope alpha at x = 0"],
      shown=["with the default alpha", "slope alpha at 0"])
def test_leaky_relu_default_alpha_and_zeros(student, ref, rng):
    """leaky_relu defaults to alpha = 0.01 and uses the stated slope alpha at x = 0"""
    x, dout = random_array(rng, scale=2.0)
    check_layer(student, ref, "leaky_relu", F.leaky_relu, x, dout, "the default alpha")
    alpha = float(rng.uniform(0.05, 0.5))
    check_layer(student, ref, "leaky_relu", lambda z: F.leaky_relu(z, negative_slope=alpha), with_zeros(rng, x),
                dout, "inputs with exact zeros (slope alpha there)", alpha)


@part("leaky_relu", states=["put `alpha` in the cache", "two forwards with different alphas"],
      shown=["two forwards with different alphas"])
def test_leaky_relu_two_forwards_before_the_backward(student, ref, rng):
    """leaky_relu_backward uses the alpha of its own cache when forwards with other alphas came between"""
    a1 = float(rng.uniform(0.02, 0.3))
    check_two_settings(student, ref, "leaky_relu", lambda a: (lambda z: F.leaky_relu(z, negative_slope=a)), rng,
                       [a1, a1 + float(rng.uniform(0.1, 0.5)), 0.01])


@part("leaky_relu", states=["never modify their inputs (neither x nor dout nor the cache)",
                            "Returns a new float64 array"],
      shown=["an input or the cache was modified"])
def test_leaky_relu_leaves_inputs_unchanged(student, rng):
    """leaky_relu_forward and leaky_relu_backward do not modify x, dout or the cache"""
    check_pure(student, "leaky_relu", *random_array(rng, scale=1.0), float(rng.uniform(0.05, 0.5)))


# -- elu ------------------------------------------------------------------------------------------
@part("elu", states=["alpha : float > 0 (default 1.0)", "must carry alpha"],
      shown=["alpha = 0.5 and 2.0 against F.elu"])
def test_elu_matches_torch(student, ref, rng):
    """elu forward and backward match F.elu and autograd for several alphas"""
    for _ in range(5):
        x, dout = random_array(rng, scale=float(rng.choice([0.1, 1.0, 3.0])))
        alpha = float(rng.uniform(0.1, 3.0))
        check_layer(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), x, dout,
                    "random inputs, alpha given (the backward pass must use it)", alpha)


@part("elu", states=["default 1.0", "slope alpha at x = 0", "no overflow warning for huge positive x"],
      shown=["with the default alpha", "Huge inputs"])
def test_elu_default_alpha_zeros_and_huge(student, ref, rng):
    """elu defaults to alpha = 1, uses the slope alpha at x = 0, and never overflows for huge inputs"""
    x, dout = random_array(rng, scale=2.0)
    check_layer(student, ref, "elu", F.elu, x, dout, "the default alpha")
    alpha = float(rng.uniform(0.2, 0.8))
    check_layer(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), with_zeros(rng, x), dout,
                "inputs with exact zeros (slope alpha there)", alpha)
    shape = (int(rng.integers(2, 10)),)
    check_strict(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), huge(rng, shape), rng.normal(size=shape),
                 "huge inputs (|x| between 750 and 1000), overflow warnings raised as errors", alpha)
    check_strict(student, ref, "elu", lambda z: F.elu(z, alpha=alpha), *one_sign_rows(rng),
                 "whole rows of huge values of one sign, overflow warnings raised as errors", alpha)


@part("elu", states=["alpha must travel in the cache", "two forwards with different alphas"],
      shown=["two forwards with different alphas"])
def test_elu_two_forwards_before_the_backward(student, ref, rng):
    """elu_backward uses the alpha of its own cache when forwards with other alphas came between"""
    a1 = float(rng.uniform(0.2, 1.5))
    check_two_settings(student, ref, "elu", lambda a: (lambda z: F.elu(z, alpha=a)), rng,
                       [a1, a1 + float(rng.uniform(0.3, 1.5)), 1.0])


@part("elu", states=["never modify their inputs (neither x nor dout nor the cache)", "Returns a new float64 array"],
      shown=["an input or the cache was modified"])
def test_elu_leaves_inputs_unchanged(student, rng):
    """elu_forward and elu_backward do not modify x, dout or the cache"""
    check_pure(student, "elu", *random_array(rng, scale=1.0), float(rng.uniform(0.3, 2.0)))


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
    (out * t(dout)).sum().backward()  # as out.backward(t(dout)), bit for bit (see torch_fb)
    return out.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def maxout_first_winner(x, W, b, dout):
    """The stated convention computed independently, with loops: the whole gradient of each max goes
    to its first maximal piece."""
    n, d = x.shape
    _, h, k = W.shape
    z = np.einsum("nd,dhk->nhk", x, W) + b
    dz = np.zeros_like(z)
    for i in range(n):
        for u in range(h):
            j = next(j for j in range(k) if z[i, u, j] == z[i, u].max())
            dz[i, u, j] = dout[i, u]
    return z.max(axis=2), np.einsum("nhk,dhk->nd", dz, W), np.einsum("nd,nhk->dhk", x, dz), dz.sum(axis=0)


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


@part("maxout", states=["out[n, h] = max_j (x @ W[:, h, j] + b[h, j])", "Returns (dx, dW, db)"],
      shown=["maxout_forward vs torch", "vs torch.autograd"])
def test_maxout_matches_torch(student, ref, rng):
    """maxout forward and backward (dx, dW, db) match a torch maxout and autograd"""
    for _ in range(6):
        check_maxout(student, ref, *maxout_problem(rng), "random layer, continuous inputs")


@part("maxout", states=["k = 1"], shown=["k = 1: maxout is just an affine layer"])
def test_maxout_edge_cases(student, ref, rng):
    """maxout handles one piece (k = 1), one example, and one input feature"""
    check_maxout(student, ref, *maxout_problem(rng, k=1), "one piece per unit (k = 1)")
    check_maxout(student, ref, *maxout_problem(rng, n=1), "a single example")
    n, h, k = int(rng.integers(2, 10)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    check_maxout(student, ref, rng.normal(size=(n, 1)), rng.normal(size=(1, h, k)), rng.normal(size=(h, k)),
                 rng.normal(size=(n, h)), "one input feature (D = 1)")


@part("maxout", states=["the whole gradient goes to the first maximal piece (the smallest $j$)",
                        "exact ties"],
      shown=["exact ties: the whole gradient to the first maximal piece"])
def test_maxout_exact_ties(student, ref, rng):
    """maxout sends the whole gradient of a tied max to the first maximal piece"""
    n, d, h, k = int(rng.integers(3, 12)), int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 5))
    # small integers: every piece is computed exactly, so equal pieces are exactly equal
    x = rng.integers(-3, 4, size=(n, d)).astype(np.float64)
    W = rng.integers(-2, 3, size=(d, h, k)).astype(np.float64)
    b = rng.integers(-2, 3, size=(h, k)).astype(np.float64)
    j0, j1 = (int(j) for j in sorted(rng.choice(k, size=2, replace=False)))
    # unit 0: pieces j0, j1 and every later one are the same affine function, every other piece
    # is far below, so on every example the max is an exact tie whose first piece is j0
    W[:, 0, :], b[0, :] = 0.0, -100.0
    w_tie, b_tie = rng.integers(-2, 3, size=d).astype(np.float64), float(rng.integers(-2, 3))
    for j in [j0, *range(j1, k)]:
        W[:, 0, j], b[0, j] = w_tie, b_tie
    x[0] = 0.0  # example 0: every piece of every unit equals its bias (integers, often tied)
    dout = rng.normal(size=(n, h))
    got = expect_tuple(student.maxout_forward(x, W, b), 2, "maxout_forward")
    want = maxout_first_winner(x, W, b, dout)
    case = "exact ties between pieces (integer inputs)"
    expect_close(got[0], want[0], "maxout_forward output", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
    grads = expect_tuple(student.maxout_backward(dout, got[1]), 3, "maxout_backward")
    for name, g, w in zip(("dx", "dW", "db"), grads, want[1:]):
        try:
            expect_close(g, w, f"maxout_backward {name}", case, rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
        except CheckFailure as err:
            raise CheckFailure(f"{err}. On a tie the whole gradient goes to the first maximal piece only "
                               "(what np.argmax picks), not to every maximal piece nor to the last") from None


@part("maxout", states=["two forwards", "never modify their inputs (neither x nor dout nor the cache)"],
      shown=["an input or the cache was modified", "two forwards before the backward"])
def test_maxout_leaves_inputs_unchanged(student, ref, rng):
    """maxout_forward and maxout_backward modify nothing, and each backward uses its own cache"""
    x, W, b, dout = maxout_problem(rng)
    got, after = student.call_keeping_args("maxout_forward", x, W, b)
    expect_unchanged([x, W, b], after, "maxout_forward")
    got = expect_tuple(got, 2, "maxout_forward")
    expect_array(got[0], (x.shape[0], W.shape[1]), "maxout_forward output")
    # a second forward of another layer before the first backward
    x2, W2, b2, _ = maxout_problem(rng)
    expect_tuple(student.maxout_forward(x2, W2, b2), 2, "maxout_forward")
    grads, after, seen = student.observe("maxout_backward", dout, got[1])
    expect_unchanged([dout, got[1]], after, "maxout_backward (dout or the cache)")
    expect_no_alias(seen, "maxout_backward")
    want = torch_maxout(x, W, b, dout)
    for name, g, w in zip(("dx", "dW", "db"), expect_tuple(grads, 3, "maxout_backward"), want[1:]):
        expect_close(g, w, f"maxout_backward {name}", "two forwards before the backward of the first",
                     rtol=RTOL_MAXOUT, atol=ATOL_MAXOUT)
