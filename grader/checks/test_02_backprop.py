"""Hidden checks of notebook 02, backpropagation by hand.

Every check draws its shapes, values and programs from `rng` (seeded at grade time) and compares in
float64 with the tolerances below, against torch autograd and against the reference solution.
Layers are tested end to end only, `backward(dout, forward(...)[1])`: what a cache holds is the
student's choice, as long as it is plain data (the grader receives it and sends it back unchanged).
Messages name the case, never the inputs.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_float, expect_tuple,
                            expect_unchanged, part, same_as_sent)

PLAIN = "plain data"  # the conventions' rule for every result, caches included

# Tolerances (float64). Results are compared entrywise: |got - want| <= ATOL + RTOL * |want|.
RTOL, ATOL = 1e-10, 1e-12            # values computed in a different but equivalent order
RTOL_GRAD, ATOL_GRAD = 1e-9, 1e-11   # gradients through matrix products (entries of size ~1-10)
RTOL_FD, ATOL_FD = 1e-8, 1e-10       # the same centred differences, up to the order of the division
RTOL_PROG = 1e-9                     # programs of up to ~60 operations (atol scales with the gradient)

GOOD_CASES = ("tanh_energy", "logsumexp", "softplus")
BUGGY_CASES = ("tanh_energy_bug", "logsumexp_bug", "softplus_bug")
BINARY_OPS = ("add", "sub", "mul", "div")
UNARY_OPS = ("exp", "log", "sin", "cos", "tanh", "relu")


def t(x, grad=False):
    return torch.from_numpy(np.array(x, dtype=np.float64)).requires_grad_(grad)


def expect_cache_unchanged(cache, after, name):
    """The cache a backward received is exactly as it was sent (whatever its design)."""
    if not same_as_sent(cache, after):
        raise CheckFailure(f"{name} modified its cache in place (an array or an entry of it); "
                           "read the cache, never write into it")


# -- affine ----------------------------------------------------------------------------------------
def affine_problem(rng, n=None, d=None, m=None):
    n = n or int(rng.integers(1, 30))
    d = d or int(rng.integers(1, 12))
    m = m or int(rng.integers(1, 12))
    scale = float(rng.choice([0.1, 1.0, 5.0]))
    return (rng.normal(0, scale, (n, d)), rng.normal(size=(d, m)), rng.normal(size=m),
            rng.normal(size=(n, m)))


def check_affine(student, ref, cases):
    """cases: [(x, w, b, dout, case)]. Every forward call in one request, then every backward call (each
    with its own cache) in another."""
    caches, autograd = [], []
    for (x, w, b, dout, case), result in zip(cases, student.call_each("affine_forward", [c[:3] for c in cases])):
        out, cache = expect_tuple(result, 2, "affine_forward")
        xt, wt, bt = t(x, True), t(w, True), t(b, True)
        out_t = xt @ wt + bt
        (out_t * t(dout)).sum().backward()
        scale = max(1.0, float(np.abs(out_t.detach().numpy()).max()))
        expect_close(out, out_t.detach().numpy(), "affine_forward out", case, rtol=RTOL, atol=ATOL * scale)
        caches.append(cache)
        autograd.append((xt.grad, wt.grad, bt.grad))
    backwards = student.call_each("affine_backward", [(c[3], cache) for c, cache in zip(cases, caches)])
    for (x, w, b, dout, case), torch_grads, result in zip(cases, autograd, backwards):
        grads = expect_tuple(result, 3, "affine_backward")
        ref_grads = ref.affine_backward(dout, ref.affine_forward(x, w, b)[1])
        for name, got, want, mine in zip(("dx", "dw", "db"), grads, torch_grads, ref_grads):
            want = want.numpy()
            atol = ATOL_GRAD * max(1.0, float(np.abs(want).max()))
            expect_close(got, want, f"affine_backward {name}", case, rtol=RTOL_GRAD, atol=atol)
            expect_close(got, mine, f"affine_backward {name}", case, rtol=RTOL_GRAD, atol=atol)


@part("affine", states=["out = x @ w + b", "dx : float64 array of shape (N, D)",
                         "dw : float64 array of shape (D, M)", "db : float64 array of shape (M,)",
                         "backward(dout, forward(...)[1])", PLAIN],
      shown=["A random layer against torch autograd", "check_plain_data(cache"])
def test_affine_matches_autograd(student, ref, rng):
    """affine_forward and affine_backward match torch autograd on random layers"""
    check_affine(student, ref, [(*affine_problem(rng), "random layer") for _ in range(6)])


@part("affine", states=["(sum over the batch)", "shape (M,) (not (1, M))"],
      shown=["db (a (3,) vector, not (1, 3))"])
def test_affine_edge_shapes(student, ref, rng):
    """the affine layer handles one example, one input feature and one output"""
    check_affine(student, ref, [(*affine_problem(rng, n=1), "a single example"),
                                (*affine_problem(rng, d=1), "one input feature"),
                                (*affine_problem(rng, m=1), "one output (db of shape (1,))"),
                                (*affine_problem(rng, n=1, d=1, m=1), "1 x 1 layer, one example")])


@part("affine", states=["never modify their inputs", "Do not modify dout or anything in the cache"],
      shown=["inputs and cache unchanged"])
def test_affine_leaves_inputs_unchanged(student, rng):
    """affine_forward and affine_backward modify neither their inputs nor the cache"""
    x, w, b, dout = affine_problem(rng)
    (out, cache), after = student.call_keeping_args("affine_forward", x, w, b)
    expect_unchanged([x, w, b], after, "affine_forward")
    _, after = student.call_keeping_args("affine_backward", dout, cache)
    expect_unchanged([dout], after[:1], "affine_backward")
    expect_cache_unchanged(cache, after[1], "affine_backward")


@part("affine", states=["each backward uses only the cache it is given"],
      shown=["two forwards before the first backward"])
def test_affine_two_forwards_before_backward(student, ref, rng):
    """each affine_backward uses its own cache, when a second forward ran before the first backward"""
    first, second = affine_problem(rng), affine_problem(rng)
    while second[0].shape == first[0].shape and second[1].shape == first[1].shape:
        second = affine_problem(rng)
    _, cache1 = expect_tuple(student.affine_forward(*first[:3]), 2, "affine_forward")
    _, cache2 = expect_tuple(student.affine_forward(*second[:3]), 2, "affine_forward")
    for (x, w, b, dout), cache, which in ((first, cache1, "first"), (second, cache2, "second"),
                                         (first, cache1, "first, again")):
        grads = expect_tuple(student.affine_backward(dout, cache), 3, "affine_backward")
        want = ref.affine_backward(dout, ref.affine_forward(x, w, b)[1])
        for name, got, mine, shape in zip(("dx", "dw", "db"), grads, want, (x.shape, w.shape, b.shape)):
            expect_array(got, shape, f"affine_backward {name}")
            expect_close(got, mine, f"affine_backward {name}",
                         f"two forwards before the first backward, the {which} cache",
                         rtol=RTOL_GRAD, atol=ATOL_GRAD * max(1.0, float(np.abs(mine).max())))


# -- relu ------------------------------------------------------------------------------------------
def relu_input(rng):
    shape = tuple(int(s) for s in rng.integers(1, 7, size=int(rng.integers(1, 4))))
    x = rng.normal(size=shape)
    x[rng.random(shape) < 0.2] = 0.0  # exact zeros: the derivative there is 0
    return x


@part("relu", states=["out = max(x, 0) elementwise", "x : float64 array of any shape",
                       "the derivative at exactly 0 is taken to be 0", PLAIN],
      shown=["including an input that is exactly 0", "check_plain_data(cache"])
def test_relu_matches_torch_exactly(student, ref, rng):
    """relu_forward and relu_backward match torch.relu and autograd, including inputs equal to 0"""
    cases = []
    for _ in range(6):
        x = relu_input(rng)
        cases.append((x, rng.normal(size=x.shape)))
    # every forward call in one request, then every backward call (each with its own cache) in another
    caches, autograd = [], []
    for (x, dout), result in zip(cases, student.call_each("relu_forward", [(x,) for x, _ in cases])):
        out, cache = expect_tuple(result, 2, "relu_forward")
        xt = t(x, True)
        out_t = torch.relu(xt)
        (out_t * t(dout)).sum().backward()  # the same gradients as out_t.backward(t(dout)), bit for bit
        expect_close(out, out_t.detach().numpy(), "relu_forward out", "random array with some zeros",
                     rtol=0.0, atol=0.0)
        caches.append(cache)
        autograd.append(xt)
    backwards = student.call_each("relu_backward", [(dout, cache) for (_, dout), cache in zip(cases, caches)])
    for (x, dout), xt, dx in zip(cases, autograd, backwards):
        expect_close(dx, xt.grad.numpy(), "relu_backward dx", "random array with some exact zeros "
                     "(the derivative at 0 is 0)", rtol=0.0, atol=0.0)
        expect_close(dx, ref.relu_backward(dout, ref.relu_forward(x)[1]), "relu_backward dx", "random array",
                     rtol=0.0, atol=0.0)


@part("relu", states=["never modify their inputs", "Do not modify dout or the cache"],
      shown=["inputs and cache unchanged"])
def test_relu_leaves_inputs_unchanged(student, rng):
    """relu_forward and relu_backward modify neither their inputs nor the cache"""
    x = relu_input(rng)
    x = np.append(x.ravel(), [1.0 + rng.random(), -1.0 - rng.random()]).reshape(-1, 1)
    x = x[rng.permutation(x.shape[0])]  # at least one entry relu lets through and one it changes
    dout = rng.normal(size=x.shape)
    (out, cache), after = student.call_keeping_args("relu_forward", x)
    expect_unchanged([x], after, "relu_forward")
    _, after = student.call_keeping_args("relu_backward", dout, cache)
    expect_unchanged([dout], after[:1], "relu_backward")
    expect_cache_unchanged(cache, after[1], "relu_backward")


@part("relu", states=["each backward uses only the cache it is given"],
      shown=["two forwards before the first backward"])
def test_relu_two_forwards_before_backward(student, ref, rng):
    """each relu_backward uses its own cache, when a second forward ran before the first backward"""
    x1 = relu_input(rng)
    x2 = np.append(relu_input(rng).ravel(), [-1.0, 2.0, 0.0])  # usually another shape than x1's
    x1.flat[0], x2.flat[0] = 1.5, -1.5  # and the two masks always differ
    _, cache1 = expect_tuple(student.relu_forward(x1), 2, "relu_forward")
    _, cache2 = expect_tuple(student.relu_forward(x2), 2, "relu_forward")
    for x, cache, which in ((x1, cache1, "first"), (x2, cache2, "second"), (x1, cache1, "first, again")):
        dout = rng.normal(size=x.shape)
        want = ref.relu_backward(dout, ref.relu_forward(x)[1])
        expect_close(student.relu_backward(dout, cache), want, "relu_backward dx",
                     f"two forwards before the first backward, the {which} cache", rtol=0.0, atol=0.0)


# -- softmax cross-entropy -------------------------------------------------------------------------
def check_ce(student, ref, z, y, case):
    loss, dscores = expect_tuple(student.softmax_cross_entropy(z, y), 2, "softmax_cross_entropy")
    zt = t(z, True)
    loss_t = F.cross_entropy(zt, torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss_t.backward()
    ref_loss, ref_grad = ref.softmax_cross_entropy(z, y)
    expect_close(expect_float(loss, "softmax_cross_entropy loss"), loss_t.item(), "softmax_cross_entropy loss",
                 case, rtol=RTOL, atol=ATOL)
    expect_close(loss, ref_loss, "softmax_cross_entropy loss", case, rtol=RTOL, atol=ATOL)
    expect_close(dscores, zt.grad.numpy(), "softmax_cross_entropy dscores", case, rtol=RTOL_GRAD, atol=ATOL)
    expect_close(dscores, ref_grad, "softmax_cross_entropy dscores", case, rtol=RTOL_GRAD, atol=ATOL)


@part("softmax_ce", states=["(1/N) sum_n -log softmax(scores[n])[y[n]]", "(softmax(scores) - onehot(y)) / N",
                             "loss : float"],
      shown=["Random scores against F.cross_entropy"])
def test_softmax_ce_matches_torch(student, ref, rng):
    """softmax_cross_entropy matches F.cross_entropy and autograd on random batches"""
    for _ in range(6):
        n, c = int(rng.integers(1, 40)), int(rng.integers(2, 12))
        z = rng.normal(0, float(rng.choice([0.1, 1.0, 10.0, 50.0])), size=(n, c))
        check_ce(student, ref, z, rng.integers(0, c, size=n), "random scores")


@part("softmax_ce", states=["Stable for huge scores"], shown=["Scores of size 1e3"])
def test_softmax_ce_edge_cases(student, ref, rng):
    """softmax_cross_entropy is exact for huge scores, one example and one class"""
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    z = rng.choice([-1.0, 1.0], size=(n, c)) * rng.uniform(900, 1100, size=(n, c))
    y = rng.integers(0, c, size=n)
    z[0] = rng.uniform(900, 1100, size=c)
    z[0, y[0]] = -rng.uniform(900, 1100)  # a true class with probability about e^-2000 (log 0 if taken naively)
    check_ce(student, ref, z, y, "huge scores (about +-1e3)")
    check_ce(student, ref, rng.normal(size=(1, c)), rng.integers(0, c, size=1), "a single example")
    check_ce(student, ref, rng.normal(size=(n, 1)), np.zeros(n, dtype=np.int64), "a single class")


@part("softmax_ce", states=["inputs unchanged"], shown=["softmax_cross_entropy modified its scores"])
def test_softmax_ce_leaves_inputs_unchanged(student, rng):
    """softmax_cross_entropy does not modify its inputs"""
    n, c = int(rng.integers(2, 20)), int(rng.integers(2, 8))
    z, y = rng.normal(size=(n, c)), rng.integers(0, c, size=n)
    _, after = student.call_keeping_args("softmax_cross_entropy", z, y)
    expect_unchanged([z, y], after, "softmax_cross_entropy")


@part("softmax_ce", states=["whole rows of huge positive or huge negative scores",
                            "rows of very different sizes in one batch", "never overflows"],
      shown=["whole rows far from 0"])
def test_softmax_ce_extreme_rows(student, ref, rng):
    """softmax_cross_entropy stays exact, without overflow, when whole rows are huge and of different sizes"""
    n, c = int(rng.integers(3, 9)), int(rng.integers(2, 9))
    offsets = np.array([1000.0, -1000.0, 5.0] + list(rng.choice([-1.0, 1.0], n - 3) * rng.uniform(500, 1500, n - 3)))
    z = offsets[:, None] + rng.normal(0, 3.0, size=(n, c))  # each row near its own offset
    y = rng.integers(0, c, size=n)
    for case, scores in (("whole rows far from 0, of different signs and sizes", z),
                         ("every row huge and negative", -np.abs(z) - 800.0),
                         ("every row huge and positive", np.abs(z) + 800.0)):
        loss, dscores = expect_tuple(student.call_strict("softmax_cross_entropy", scores, y), 2,
                                     "softmax_cross_entropy")
        ref_loss, ref_grad = ref.softmax_cross_entropy(scores, y)
        expect_close(expect_float(loss, "softmax_cross_entropy loss"), ref_loss, "softmax_cross_entropy loss",
                     case, rtol=RTOL, atol=ATOL)
        expect_close(dscores, ref_grad, "softmax_cross_entropy dscores", case, rtol=RTOL_GRAD, atol=ATOL)


# -- two-layer network -----------------------------------------------------------------------------
KEYS = ("W1", "b1", "W2", "b2")


def net_problem(rng, n=None):
    n = n or int(rng.integers(1, 25))
    d, h, c = int(rng.integers(1, 10)), int(rng.integers(1, 12)), int(rng.integers(2, 8))
    params = {"W1": rng.normal(0, 0.8, (d, h)), "b1": rng.normal(0, 0.3, h),
              "W2": rng.normal(0, 0.8, (h, c)), "b2": rng.normal(0, 0.3, c)}
    return params, rng.normal(0, 1.5, (n, d)), rng.integers(0, c, size=n)


def torch_net(params, X, y, reg):
    p = {k: t(v, True) for k, v in params.items()}
    scores = torch.relu(t(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    loss = F.cross_entropy(scores, torch.from_numpy(y.astype(np.int64)))
    loss = loss + 0.5 * reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in p.items()}


def check_net(got, params, X, y, reg, ref, case):
    loss, grads = expect_tuple(got, 2, "two_layer_loss")
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        raise CheckFailure("two_layer_loss must return (loss, grads) with grads a dict of exactly the keys "
                           "W1, b1, W2, b2")
    want_loss, want = torch_net(params, X, y, reg)
    ref_loss, mine = ref.two_layer_loss(params, X, y, reg)
    expect_close(expect_float(loss, "two_layer_loss loss"), want_loss, "two_layer_loss loss", case,
                 rtol=RTOL_GRAD, atol=ATOL_GRAD)
    expect_close(loss, ref_loss, "two_layer_loss loss", case, rtol=RTOL_GRAD, atol=ATOL_GRAD)
    for k in KEYS:
        atol = ATOL_GRAD * max(1.0, float(np.abs(want[k]).max()))
        expect_close(grads[k], want[k], f"two_layer_loss grads['{k}']", case, rtol=RTOL_GRAD, atol=atol)
        expect_close(grads[k], mine[k], f"two_layer_loss grads['{k}']", case, rtol=RTOL_GRAD, atol=atol)


@part("two_layer_net", states=["mean cross-entropy + 0.5 * reg * (sum(W1 ** 2) + sum(W2 ** 2))",
                                'dict with exactly the keys "W1", "b1", "W2", "b2"', PLAIN],
      shown=["Random parameters with a penalty, against torch autograd", "check_plain_data(grads"])
def test_two_layer_net_matches_autograd(student, ref, rng):
    """two_layer_loss matches torch autograd, with and without the L2 penalty"""
    for trial in range(6):
        params, X, y = net_problem(rng)
        reg = 0.0 if trial % 2 == 0 else float(rng.uniform(0.01, 2.0))
        check_net(student.two_layer_loss(params, X, y, reg), params, X, y, reg, ref,
                  "random network, reg = 0" if reg == 0 else "random network, reg > 0")


@part("two_layer_net", states=["reg=0.0"], shown=["loss with W2 = 0"])
def test_two_layer_net_default_reg_and_one_example(student, ref, rng):
    """two_layer_loss defaults to reg = 0 and handles a single example"""
    params, X, y = net_problem(rng)
    check_net(student.two_layer_loss(params, X, y), params, X, y, 0.0, ref, "default reg")
    params, X, y = net_problem(rng, n=1)
    check_net(student.two_layer_loss(params, X, y, 0.5), params, X, y, 0.5, ref, "a single example, reg > 0")


@part("two_layer_net", states=["Not modified", "never modify their inputs"],
      shown=["the inputs are left unchanged"])
def test_two_layer_net_leaves_inputs_unchanged(student, rng):
    """two_layer_loss does not modify the parameters or the data"""
    params, X, y = net_problem(rng)
    before = {k: v.copy() for k, v in params.items()}
    _, after = student.call_keeping_args("two_layer_loss", params, X, y, 0.3)
    expect_unchanged([X, y], after[1:3], "two_layer_loss")
    got = after[0]
    for k in KEYS:
        if not (isinstance(got, dict) and type(got.get(k)) is np.ndarray and np.array_equal(got[k], before[k])):
            raise CheckFailure(f"two_layer_loss modified params['{k}'] in place; work on new arrays")


# -- gradient checking -----------------------------------------------------------------------------
def random_shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))


def centred_differences(f, x, h):
    """The definition, written independently of the notebook."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (f(plus) - f(minus)) / (2 * h)
    return grad


def exact_gradient(name, x):
    xt = t(x, True)
    if name == "tanh_energy":
        out = (torch.tanh(xt) ** 2).sum()
    elif name == "logsumexp":
        out = torch.logsumexp(xt.flatten(), dim=0)
    else:
        out = F.softplus(xt).sum()
    out.backward()
    return xt.grad.numpy()


@part("grad_check", states=["grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)", "x : float64 array of any shape"],
      shown=["centred difference of sum(x^3), h = 0.1"])
def test_numerical_gradient_is_the_centred_difference(student, ref, rng):
    """numerical_gradient computes centred differences for any step h and any shape of x"""
    for trial in range(6):
        name = GOOD_CASES[trial % 3]
        x = rng.normal(0, 1.5, size=random_shape(rng))
        h = float(rng.choice([0.5, 0.1, 1e-2, 1e-4]))
        want = centred_differences(ref.GRADIENT_CASES[name][0], x, h)
        expect_close(student.numerical_gradient_of(name, x, h), want, "numerical_gradient",
                     f"centred difference with a large step h = {h:g}", rtol=RTOL_FD, atol=ATOL_FD)


@part("grad_check", states=["h=1e-5"], shown=["Against exact gradients (torch autograd) with h = 1e-5"])
def test_numerical_gradient_matches_exact_gradients(student, rng):
    """numerical_gradient with its default step agrees with autograd to about 1e-7"""
    for name in GOOD_CASES:
        x = rng.normal(0, 1.5, size=random_shape(rng))
        expect_close(student.numerical_gradient_of(name, x), exact_gradient(name, x), "numerical_gradient",
                     f"default step, test function {name}", rtol=1e-6, atol=1e-8)


@part("grad_check", states=["never modified (perturb a copy)", "the caller's array must not change"],
      shown=["numerical_gradient modified x"])
def test_numerical_gradient_leaves_x_unchanged(student, rng):
    """numerical_gradient leaves x exactly as it was, for any step"""
    for h in (0.1, 1e-5):
        x = rng.normal(size=(3, 4))
        x[0, :2] = 0.7, 1.1  # x + h - 2h + h differs from x in its last bit here: undoing a step is not enough
        _, after = student.call_keeping_args("numerical_gradient_of", "tanh_energy", x, h)
        expect_unchanged(["tanh_energy", x, h], after, "numerical_gradient")


@part("grad_check", states=["||a - b|| / (||a|| + ||b||)", "Euclidean norm over all entries",
                            "Returns 0.0 when a and b are both all zero", "at any scale"],
      shown=["relative_error by hand", "relative_error(1e-30 a, 1e-30 b)"])
def test_relative_error(student, rng):
    """relative_error is ||a - b|| / (||a|| + ||b||), scale-free, 0 for two zero arrays"""
    # (arguments, expected, case, rtol, atol); every call in one request
    cases = []
    for trial in range(5):
        shape = random_shape(rng)
        a, b = rng.normal(size=shape), rng.normal(size=shape)
        scale = (1e-30, 1e30, 1e-8)[trial] if trial < 3 else float(10.0 ** rng.uniform(-8, 8))
        want = np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))
        cases.append(((scale * a, scale * b), want, "random arrays of any scale", 1e-12, 0.0))
        near = a + 1e-9 * b
        want = np.linalg.norm(near - a) / (np.linalg.norm(near) + np.linalg.norm(a))
        # The difference of nearly equal arrays is ill-conditioned: any correct float64 order of
        # operations (rescaling first, say) is exact to a few machine epsilons, 1e-15, in absolute terms.
        cases.append(((near, a), want, "nearly equal arrays", 1e-6, 1e-15))
    a = rng.normal(size=random_shape(rng))
    cases.append(((a, np.zeros_like(a)), 1.0, "one array all zero", 1e-12, 0.0))
    replies = student.call_each("relative_error", [c[0] for c in cases] + [(np.zeros((2, 3)), np.zeros((2, 3)))])
    for (_, want, case, rtol, atol), got in zip(cases, replies):
        expect_close(expect_float(got, "relative_error"), want, "relative_error", case, rtol=rtol, atol=atol)
    got = expect_float(next(replies), "relative_error")
    if got != 0.0:
        raise CheckFailure("relative_error of two all-zero arrays must be 0.0")


def as_bool(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if type(value) is np.ndarray and value.shape == () and value.dtype == bool:
        return bool(value)
    raise CheckFailure(f"{name} returned {type(value).__name__} for `passed`; expected a bool")


@part("grad_check", states=["passed = (error < tol), a Python bool", "tol=1e-6"],
      shown=["The checker passes the correct gradients and flags every planted bug"])
def test_gradient_check_flags_the_planted_bugs(student, ref, rng):
    """gradient_check passes the correct gradients and flags every planted bug"""
    good = [(name, rng.normal(0, 1.5, size=random_shape(rng))) for name in GOOD_CASES]
    buggy = [(name, rng.normal(0, 1.5, size=(int(rng.integers(2, 5)), int(rng.integers(2, 5)))))
             for name in BUGGY_CASES]
    # every call in one request, in the order the checks below read them
    replies = student.call_each("gradient_check", good + [c for name, x in buggy
                                                          for c in ((name, x), (name, x, 1e-5, 2.0))])
    for name, _ in good:
        error, passed = expect_tuple(next(replies), 2, "gradient_check")
        error = expect_float(error, "gradient_check error")
        if not (as_bool(passed, "gradient_check") and 0.0 <= error < 1e-7):
            raise CheckFailure(f"gradient_check must pass the correct gradient of {name} with the default "
                               f"h and tol (got error {error:.2e})")
    for name, x in buggy:
        error, passed = expect_tuple(next(replies), 2, "gradient_check")
        if as_bool(passed, "gradient_check"):
            raise CheckFailure(f"gradient_check did not flag the planted bug {name}")
        expect_close(expect_float(error, "gradient_check error"), ref.gradient_check(name, x)[0],
                     "gradient_check error", f"planted bug {name}", rtol=1e-6, atol=1e-9)
        _, passed = expect_tuple(next(replies), 2, "gradient_check")
        if not as_bool(passed, "gradient_check"):
            raise CheckFailure("gradient_check ignores its tol argument: with tol = 2 every check passes")


@part("grad_check", states=["error = relative_error(analytic gradient, numerical gradient with step h)",
                            "passed = (error < tol)"],
      shown=["a large step h = 0.3 and a tol on each side of the error"])
def test_gradient_check_uses_its_step_and_tolerance(student, ref, rng):
    """gradient_check uses the step h and the tolerance tol it is given (and the default tol 1e-6)"""
    cases = []
    for name in GOOD_CASES:
        x = rng.normal(0, 1.5, size=(int(rng.integers(2, 5)), int(rng.integers(2, 5))))
        h = float(rng.choice([0.3, 0.1, 1e-2]))
        cases.append((name, x, h, ref.gradient_check(name, x, h)[0]))  # truncation error of order h^2: far above 1e-6 here
    # every call in one request, in the order the checks below read them
    replies = student.call_each("gradient_check", [c for name, x, h, want in cases
                                                   for c in ((name, x, h), (name, x, h, 2.0 * want),
                                                             (name, x, h, 0.5 * want))])
    for name, x, h, want in cases:
        error, passed = expect_tuple(next(replies), 2, "gradient_check")
        expect_close(expect_float(error, "gradient_check error"), want, "gradient_check error",
                     f"a large step h = {h:g} (is h passed on to numerical_gradient?)", rtol=1e-5, atol=0.0)
        if abs(want - 1e-6) > 1e-3 * want and as_bool(passed, "gradient_check") != (want < 1e-6):
            raise CheckFailure(f"gradient_check with the default tol: passed must be (error < 1e-6); "
                               f"got passed = {passed} for error {want:.2e}")
        for tol, expected in ((2.0 * want, True), (0.5 * want, False)):
            _, passed = expect_tuple(next(replies), 2, "gradient_check")
            if as_bool(passed, "gradient_check") != expected:
                raise CheckFailure(f"gradient_check with tol {'above' if expected else 'below'} the error: "
                                   f"passed must be (error < tol), got {passed}")


# -- programs for the autodiff parts ---------------------------------------------------------------
def apply_op(op, a, b=None):
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
            "exp": lambda: math.exp(a), "log": lambda: math.log(a), "sin": lambda: math.sin(a),
            "cos": lambda: math.cos(a), "tanh": lambda: math.tanh(a), "relu": lambda: max(a, 0.0)}[op]()


def make_program(rng, n, length, reuse=0.5):
    """A random program that stays in every operation's domain; `reuse` biases operands toward the
    latest values, which creates values used several times along paths of different lengths."""
    x = rng.uniform(-2.0, 2.0, size=n)
    values, program = [float(v) for v in x], []
    tries = 0
    while len(program) < length and tries < 100 * length:
        tries += 1
        op = str(rng.choice(BINARY_OPS + UNARY_OPS))
        pick = lambda: (len(values) - 1 - int(rng.integers(min(4, len(values))))  # noqa: E731
                        if rng.random() < reuse else int(rng.integers(len(values))))
        i, j = pick(), pick()
        a, b = values[i], values[j]
        if (op == "div" and abs(b) < 0.25) or (op == "log" and a < 0.1) or (op == "exp" and a > 4.0):
            continue
        result = apply_op(op, a, b)
        if abs(result) < 500.0:
            program.append((op, i, j) if op in BINARY_OPS else (op, i))
            values.append(result)
    return program, x


def torch_program(program, x):
    xs = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in x]
    values = list(xs)
    for op, *args in program:
        if op in BINARY_OPS:
            values.append({"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[op](
                values[args[0]], values[args[1]]))
        else:
            values.append(getattr(torch, op)(values[args[0]]))
    out = values[-1]
    grads = torch.autograd.grad(out, xs, allow_unused=True) if out.requires_grad else [None] * len(xs)
    return out.item(), np.array([0.0 if g is None else g.item() for g in grads])


def single_op_cases(rng):
    for op in BINARY_OPS + UNARY_OPS:
        program = [(op, 0, 1)] if op in BINARY_OPS else [(op, 0)]
        x = rng.uniform(0.3, 2.5, size=2)
        if op != "log":
            x *= rng.choice([-1.0, 1.0], size=2)
        yield op, program, x


def prog_atol(grad):
    return 1e-10 * max(1.0, float(np.abs(grad).max()))


def special_programs():
    """Hand-made graphs: fan-out, paths of different lengths, a kink at 0, unused and empty."""
    return [
        ("a value used many times", [("mul", 0, 0), ("mul", 1, 0), ("mul", 2, 1), ("add", 3, 2)], 1),
        ("paths of different lengths", [("exp", 0), ("sin", 1), ("tanh", 2), ("mul", 1, 3), ("add", 4, 2)], 1),
        ("a diamond over two inputs", [("mul", 0, 1), ("sin", 2), ("cos", 2), ("mul", 3, 4), ("add", 5, 0)], 2),
        ("relu exactly at its kink", [("sub", 0, 0), ("relu", 1), ("add", 2, 0)], 1),
        ("relu of a difference that is exactly 0", [("sub", 0, 1), ("relu", 2), ("mul", 3, 0), ("add", 4, 1)], 2),
        ("an input the output does not use", [("tanh", 0), ("mul", 2, 2)], 3),
        ("an empty program (the output is the last input)", [], 2),
        ("a constant built from an input (x / x and x - x)", [("div", 0, 0), ("sub", 1, 1), ("mul", 2, 3),
                                                              ("add", 4, 2), ("mul", 5, 1)], 2),
        ("a value used as both operands of every binary operation",
         [("add", 0, 0), ("sub", 2, 2), ("mul", 2, 2), ("div", 4, 4), ("add", 5, 3), ("mul", 6, 4)], 2),
    ]


# -- forward mode ----------------------------------------------------------------------------------
def check_forward(student, ref, cases):
    """cases: [(program, x, v, case)], every call in one request."""
    for (program, x, v, case), result in zip(cases, student.call_each("forward_mode_derivative",
                                                                     [c[:3] for c in cases])):
        value, deriv = expect_tuple(result, 2, "forward_mode_derivative")
        want_value, want_grad = torch_program(program, x)
        want = float(want_grad @ v)
        atol = prog_atol(want_grad) * max(1.0, float(np.abs(v).sum()))
        expect_close(expect_float(value, "forward_mode_derivative value"), want_value,
                     "forward_mode_derivative value", case, rtol=RTOL_PROG, atol=1e-10 * max(1.0, abs(want_value)))
        expect_close(expect_float(deriv, "forward_mode_derivative derivative"), want,
                     "forward_mode_derivative derivative", case, rtol=RTOL_PROG, atol=atol)
        expect_close(deriv, ref.forward_mode_derivative(program, x, v)[1], "forward_mode_derivative derivative",
                     case, rtol=RTOL_PROG, atol=atol)


@part("forward_mode", states=["Returns (value, derivative), two floats: f(x) and grad f(x) . v"],
      shown=["Every operation alone, against torch autograd"])
def test_forward_mode_each_operation(student, ref, rng):
    """forward_mode_derivative gets every operation right (value and directional derivative)"""
    check_forward(student, ref, [(program, x, rng.normal(size=2), f"a program with the single operation {op}")
                                 for op, program, x in single_op_cases(rng)])


@part("forward_mode", states=["Returns (value, grad): a float and a float64 array of shape (n,)"],
      shown=["Random programs: the gradient from n forward passes equals autograd's"])
def test_forward_mode_random_programs(student, ref, rng):
    """forward_mode_derivative and forward_mode_gradient match autograd on random programs"""
    cases = []
    for trial in range(8):
        n = int(rng.integers(1, 6))
        program, x = make_program(rng, n, int(rng.integers(1, 40)), reuse=float(rng.uniform(0.3, 0.9)))
        cases.append((program, x, rng.normal(size=n), "random program, random direction"))
    # every derivative call in one request, then every gradient call in another
    check_forward(student, ref, cases)
    for (program, x, _, _), result in zip(cases, student.call_each("forward_mode_gradient", [c[:2] for c in cases])):
        value, grad = expect_tuple(result, 2, "forward_mode_gradient")
        want_value, want_grad = torch_program(program, x)
        expect_close(expect_float(value, "forward_mode_gradient value"), want_value, "forward_mode_gradient value",
                     "random program", rtol=RTOL_PROG, atol=1e-10 * max(1.0, abs(want_value)))
        expect_close(grad, want_grad, "forward_mode_gradient", "random program", rtol=RTOL_PROG,
                     atol=prog_atol(want_grad))


@part("forward_mode", states=["A variable may be used any number of times", "$\\dot a$ if $a > 0$, else 0",
                              "an input the output does not depend on gets gradient 0"],
      shown=["a value used twice", "relu at its kink"])
def test_forward_mode_special_graphs(student, ref, rng):
    """forward mode handles reused values, constants, kinks, unused inputs and empty programs"""
    cases = []
    for case, program, n in special_programs():
        x = rng.uniform(0.3, 1.5, size=n) * rng.choice([-1.0, 1.0], size=n)
        if case.startswith("relu"):
            x = np.abs(x)
            x[-1] = x[0]  # the relu's input is exactly 0, its derivative there is 0 (as in torch)
        cases.append((program, x, rng.normal(size=n), case))
    # every derivative call in one request, then every gradient call in another
    check_forward(student, ref, cases)
    for (program, x, _, case), result in zip(cases, student.call_each("forward_mode_gradient", [c[:2] for c in cases])):
        _, grad = expect_tuple(result, 2, "forward_mode_gradient")
        want = torch_program(program, x)[1]
        expect_close(grad, want, "forward_mode_gradient", case, rtol=RTOL_PROG, atol=prog_atol(want))


@part("forward_mode", states=["for a direction $v \\in \\mathbb{R}^n$"],
      shown=["a direction with zero entries"])
def test_forward_mode_any_direction(student, ref, rng):
    """forward_mode_derivative works along any direction: zero entries, the zero vector, long vectors"""
    cases = []
    for trial in range(4):
        n = int(rng.integers(2, 6))
        program, x = make_program(rng, n, int(rng.integers(3, 25)), reuse=0.7)
        v = rng.normal(size=n)
        v[rng.permutation(n)[: n // 2]] = 0.0  # inputs held constant
        cases += [(program, x, v, "a direction with zero entries (constant inputs)"),
                  (program, x, np.zeros(n), "the zero direction (derivative 0)"),
                  (program, x, 1e3 * rng.normal(size=n), "a long direction vector")]
    check_forward(student, ref, cases)


# -- reverse mode ----------------------------------------------------------------------------------
def check_reverse(student, ref, cases):
    """cases: [(program, x, case)], every call in one request."""
    for (program, x, case), result in zip(cases, student.call_each("reverse_mode_gradient", [c[:2] for c in cases])):
        value, grad = expect_tuple(result, 2, "reverse_mode_gradient")
        want_value, want_grad = torch_program(program, x)
        expect_close(expect_float(value, "reverse_mode_gradient value"), want_value, "reverse_mode_gradient value",
                     case, rtol=RTOL_PROG, atol=1e-10 * max(1.0, abs(want_value)))
        expect_close(grad, want_grad, "reverse_mode_gradient", case, rtol=RTOL_PROG, atol=prog_atol(want_grad))
        expect_close(grad, ref.reverse_mode_gradient(program, x)[1], "reverse_mode_gradient", case,
                     rtol=RTOL_PROG, atol=prog_atol(want_grad))


@part("reverse_mode", states=["Returns (value, grad): a float and a float64 array of shape (n,)"],
      shown=["Random programs against autograd"])
def test_reverse_mode_each_operation(student, ref, rng):
    """reverse_mode_gradient gets every operation's local derivative right"""
    check_reverse(student, ref, [(program, x, f"a program with the single operation {op}")
                                 for op, program, x in single_op_cases(rng)])


@part("reverse_mode", states=["parent.grad += local * node.grad", "a node used twice must receive both contributions"],
      shown=["A value used several times"])
def test_reverse_mode_random_programs(student, ref, rng):
    """reverse_mode_gradient matches autograd on random programs with shared subexpressions"""
    cases = []
    for trial in range(8):
        n = int(rng.integers(1, 6))
        program, x = make_program(rng, n, int(rng.integers(2, 60)), reuse=float(rng.uniform(0.3, 0.9)))
        cases.append((program, x, "random program with values used several times"))
    check_reverse(student, ref, cases)


@part("reverse_mode", states=["every node comes after all its parents", "an input the output does not depend on gets gradient 0",
                              "any order in which every node comes after its parents is accepted"],
      shown=["Paths of different lengths", "An input the output does not use gets gradient 0"])
def test_reverse_mode_special_graphs(student, ref, rng):
    """reverse mode handles reused values, constants, paths of different lengths, kinks, unused inputs, empty programs"""
    cases = []
    for case, program, n in special_programs():
        x = rng.uniform(0.3, 1.5, size=n) * rng.choice([-1.0, 1.0], size=n)
        if case.startswith("relu"):
            x = np.abs(x)
            x[-1] = x[0]  # the relu's input is exactly 0, its derivative there is 0 (as in torch)
        cases.append((program, x, case))
    check_reverse(student, ref, cases)


@part("reverse_mode", states=["a few hundred nodes deep"], shown=["the same program twice"])
def test_reverse_mode_long_program_and_repeated_calls(student, ref, rng):
    """reverse_mode_gradient handles a 150-step program and gives the same answer when called twice"""
    program, x = make_program(rng, 3, 150, reuse=0.95)
    check_reverse(student, ref, [(program, x, "a program of 150 operations")])
    # called twice more, both calls in one request (one after the other in the kernel, as before)
    first, second = (expect_tuple(r, 2, "reverse_mode_gradient")[1]
                     for r in student.call_each("reverse_mode_gradient", [(program, x)] * 2))
    expect_close(second, expect_array(first, (3,), "reverse_mode_gradient"), "reverse_mode_gradient",
                 "the same program twice (no state may leak between calls)", rtol=0.0, atol=0.0)


# -- the engine: Scalar with operator overloading ----------------------------------------------------
def torch_formula(formula, x):
    """Value and gradient of a formula string in x0, x1, ... by float64 torch autograd."""
    xs = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in np.asarray(x)]
    out = eval(formula, {"__builtins__": {}}, {f"x{i}": v for i, v in enumerate(xs)})  # noqa: S307 (our own strings)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return float(out), np.zeros(len(xs))
    grads = torch.autograd.grad(out, xs, allow_unused=True)
    return out.item(), np.array([0.0 if g is None else g.item() for g in grads])


CONSTANTS = (2, 3, -1, 0.5, 1.5, -2.5, 4)
POWERS = (2, 3, -1, 0.5, 1.5, -2, 0, 1)


def formula_tree(rng, x, size):
    """(text, value, uses an input) of a random formula with about `size` operations: inputs and numbers
    on either side of + - * /, unary minus, constant powers and the six methods, kept inside every
    operation's domain at x (log of > 0.1, division by |d| > 0.2, powers with a non-integer exponent of
    > 0.1, exponents k <= 0 of |a| > 0.2 (the local derivative k a^(k-1) needs a != 0), exp of < 5) and below 1e3 in size; None when a draw fails."""
    if size <= 0:
        if rng.random() < 0.75:
            i = int(rng.integers(0, len(x)))
            return f"x{i}", float(x[i]), True
        c = CONSTANTS[int(rng.integers(0, len(CONSTANTS)))]
        return repr(c), float(c), False
    kind = rng.random()
    if kind < 0.5:
        split = int(rng.integers(0, size))
        left, right = formula_tree(rng, x, split), formula_tree(rng, x, size - 1 - split)
        if left is None or right is None or not (left[2] or right[2]):
            return None
        (a, va, _), (b, vb, _) = left, right
        op = "+-*/"[int(rng.integers(0, 4))]
        if op == "/" and abs(vb) < 0.2:
            return None
        value = {"+": va + vb, "-": va - vb, "*": va * vb, "/": va / vb if op == "/" else 0.0}[op]
        text = f"({a} {op} {b})"
    else:
        inner = formula_tree(rng, x, size - 1)
        if inner is None or not inner[2]:
            return None
        a, va, _ = inner
        which = int(rng.integers(0, 8))
        if which == 0:
            text, value = f"(-{a})", -va
        elif which == 1:
            k = POWERS[int(rng.integers(0, len(POWERS)))]
            if (isinstance(k, float) and va <= 0.1) or (k <= 0 and abs(va) <= 0.2):
                return None
            text, value = f"({a} ** {k})", va ** k
        else:
            method = ("exp", "log", "sin", "cos", "tanh", "relu")[which - 2]
            if (method == "log" and va <= 0.1) or (method == "exp" and va >= 5):
                return None
            value = {"exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
                     "relu": lambda v: max(v, 0.0)}[method](va)
            text = f"{a}.{method}()"
    if not math.isfinite(value) or abs(value) > 1e3:
        return None
    return text, value, True


def random_formula(rng, n, size):
    """(formula, x) with n inputs drawn from [-1.5, 1.5] and about `size` operations."""
    while True:
        x = rng.uniform(-1.5, 1.5, size=n)
        for _ in range(200):
            tree = formula_tree(rng, x, size)
            if tree is not None and tree[2]:
                return tree[0], x


def check_engine(student, cases):
    """cases: [(formula, x, case)], every call in one request."""
    for (formula, x, case), result in zip(cases, student.call_each("engine_value_and_grad", [c[:2] for c in cases])):
        value, grad = expect_tuple(result, 2, "engine_value_and_grad")
        want_value, want_grad = torch_formula(formula, x)
        expect_close(expect_float(value, "engine_value_and_grad value"), want_value, "engine_value_and_grad value",
                     case, rtol=RTOL_PROG, atol=1e-10 * max(1.0, abs(want_value)))
        expect_close(expect_array(grad, (len(x),), "engine_value_and_grad gradient"), want_grad,
                     "engine_value_and_grad gradient", case, rtol=RTOL_PROG, atol=prog_atol(want_grad))


ENGINE_RULES = [
    ("a number on the right of each operator", ["x0 + 2.5", "x0 - 2.5", "x0 * 2.5", "x0 / 2.5"]),
    ("a number on the left of each operator (the reflected methods)", ["2.5 + x0", "2.5 - x0", "2.5 * x0", "2.5 / x0"]),
    ("integers on either side", ["3 - x0 * 2", "1 / x0 + x0 / 4", "2 * x0 - 1"]),
    ("unary minus", ["-x0", "-(x0 * x1)", "x1 - -x0"]),
    ("constant powers", ["x0 ** 2", "x0 ** 3", "x0 ** -1", "x0 ** -2", "x0 ** 0", "x0 ** 1", "(x0 * x0) ** 0.5",
                         "(x0 * x0 + 1) ** 1.5"]),
    ("each method", ["x0.exp()", "(x0 * x0 + 0.5).log()", "x0.sin()", "x0.cos()", "x0.tanh()", "x0.relu()",
                     "(-x0).relu()"]),
]


@part("engine", states=["every operator accepts a Scalar or a plain number on either side",
                        "3 - w arrives as w.__rsub__(3) and must compute $3 - w$",
                        "`3 / w` arrives as `w.__rtruediv__(3)` and must compute $3 / w$",
                        "$\\frac{d}{da} a^k = k\\,a^{k-1}$"],
      shown=["__rsub__: 3 - x0, not x0 - 3", "__rtruediv__: 1 / x1"])
def test_engine_each_rule(student, rng):
    """Scalar: numbers on either side of every operator, unary minus, constant powers, every method"""
    check_engine(student, [(formula, rng.uniform(0.3, 1.5, size=2) * rng.choice([-1.0, 1.0], size=2),
                            f"{case} ({formula})") for case, formulas in ENGINE_RULES for formula in formulas])


@part("engine", states=["Every operation returns a `Scalar`", "so that formulas can go on"],
      shown=["Formulas mixing everything, against torch autograd"])
def test_engine_random_formulas(student, rng):
    """Scalar: random formulas mixing inputs, numbers, operators, powers and methods match autograd"""
    cases = []
    for trial in range(12):
        n = int(rng.integers(1, 5))
        formula, x = random_formula(rng, n, int(rng.integers(3, 25)))
        cases.append((formula, x, "a random formula mixing inputs, numbers, operators, powers and methods"))
    check_engine(student, cases)


@part("engine", states=["an input the formula does not use gets gradient 0", "inherits `backward`"],
      shown=["a value used several times"])
def test_engine_special_formulas(student, rng):
    """Scalar: reused values, unused inputs, a kink at 0, a formula with no input, a long chain, repeated calls"""
    x = rng.uniform(0.3, 1.5, size=3)
    kink = x.copy()
    kink[1] = kink[0]
    chain = "x0"
    for _ in range(40):
        chain = f"({chain} * 0.9 + x1).tanh()"
    check_engine(student, [("x0 * x0 * x0 - (x0 + 1) * (x0 + 1)", x, "a value used several times"),
                           ("(x1 * 2).tanh()", x, "inputs the formula does not use (gradient 0)"),
                           ("2 ** 3 - 1", x, "a formula with no input in it (all gradients 0)"),
                           ("(x0 - x1).relu() + x2", kink, "relu exactly at its kink (derivative 0 there, as torch)"),
                           (chain, x, "a chain of 120 operations")])
    formula, x = random_formula(rng, 3, 20)
    # called twice, both calls in one request (one after the other in the kernel, as before)
    first, second = (expect_tuple(r, 2, "engine_value_and_grad")[1]
                     for r in student.call_each("engine_value_and_grad", [(formula, x)] * 2))
    expect_close(second, expect_array(first, (3,), "engine_value_and_grad"), "engine_value_and_grad",
                 "the same formula twice (no state may leak between calls)", rtol=0.0, atol=0.0)
