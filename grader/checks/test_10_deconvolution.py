"""Hidden checks of notebook 10, convolution and transposed convolution ("deconvolution").

Shapes, strides (1 to 3), paddings (0 to 2, also larger than k - 1 for the transposed convolution),
output paddings (< stride) and values are drawn from `rng` at grade time; the examples of one batch
have very different scales. Everything is compared in float64 against torch (F.conv2d, F.conv_transpose2d and
autograd) and against the reference solution; backward passes are only ever tested end to end,
`backward(dout, forward(...)[1])`, so what a cache holds is the student's choice. Messages name the
case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_new, expect_tuple, expect_unchanged,
                            part)

NEW_ARRAY = "every array a function returns is a new, writable array"
NO_GLOBALS = "reads everything it needs from its cache"
UNCHANGED = "never modify their inputs"
TOL = "rtol 1e-9, atol 1e-10"


def scales(rng, n):
    """One scale per example of a batch, from 1e-3 to 1e3."""
    return rng.choice([1e-3, 1.0, 1e3], size=(n, 1, 1, 1))

# Tolerances (float64). Entrywise |got - want| <= ATOL + RTOL * |want|. Outputs are sums of at most a
# few hundred products of N(0, 1) numbers, computed in a different order than torch's.
RTOL, ATOL = 1e-9, 1e-10


def t(x):
    return torch.from_numpy(np.array(x, dtype=np.float64))


def expect_int(got, want, name, case):
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise CheckFailure(f"{name} returned {type(got).__name__}; expected an int (use // for the floor)")
    if int(got) != want:
        raise CheckFailure(f"{name}, {case}: got {int(got)}, expected another size")


def conv_problem(rng, *, n=None, c=None, f=None, k=None, s=None, p=None):
    """Random conv2d inputs with H + 2p >= KH and W + 2p >= KW."""
    n = n or int(rng.integers(1, 4))
    c = c or int(rng.integers(1, 4))
    f = f or int(rng.integers(1, 5))
    kh, kw = k or (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    s = s or int(rng.integers(1, 4))
    p = int(rng.integers(0, 3)) if p is None else p
    h = int(rng.integers(max(1, kh - 2 * p), 10))
    w_ = int(rng.integers(max(1, kw - 2 * p), 10))
    x = rng.normal(size=(n, c, h, w_)) * scales(rng, n)
    w = rng.normal(size=(f, c, kh, kw))
    b = rng.normal(size=f)
    return x, w, b, {"stride": s, "pad": p}


def convT_problem(rng, *, k=None, s=None, p=None):
    """Random conv_transpose2d inputs (C_in != C_out likely) with a positive output size."""
    p_given = p
    while True:
        n, ci, co = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        kh, kw = k or (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        st = s or int(rng.integers(1, 4))
        p = int(rng.integers(0, 3)) if p_given is None else p_given
        q = int(rng.integers(0, st))
        h, w_ = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        if (h - 1) * st - 2 * p + kh + q >= 1 and (w_ - 1) * st - 2 * p + kw + q >= 1:
            break
    x = rng.normal(size=(n, ci, h, w_)) * scales(rng, n)
    w = rng.normal(size=(ci, co, kh, kw))
    b = rng.normal(size=co)
    return x, w, b, {"stride": st, "pad": p, "output_pad": q}


def describe(param):
    extra = ", output padding" if param.get("output_pad") else ""
    return f"stride {param['stride']}" + (", with padding" if param["pad"] else ", no padding") + extra


# -- output sizes ---------------------------------------------------------------------------------
@part("output_size", states=["floor((n + 2 * pad - k) / stride) + 1", "Returns an int"],
      shown=["The worked example", "Against the shape torch produces"])
def test_conv_output_size_matches_torch(student, rng):
    """conv_output_size gives the size torch's conv2d produces, and 4 for the worked example"""
    cases = [((2, 3, 1, 2), 4, "the worked example (2x2 input, 2 zeros on each side, 3x3 kernel, stride 1)")]
    for trial in range(12):
        k, s, p = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(0, 4))
        n = int(rng.integers(max(1, k - 2 * p), 40))
        want = F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0)).shape[2]
        cases.append(((n, k, s, p), want, "stride larger than the kernel" if s > k else f"stride {s}, padding {p}"))
    for (_, want, case), got in zip(cases, student.call_each("conv_output_size", [c[0] for c in cases])):
        expect_int(got, want, "conv_output_size", case)


@part("output_size", states=["(n - 1) * stride - 2 * pad + k + output_pad", "0 <= output_pad < stride"],
      shown=["The transposed size against torch, with output padding"])
def test_conv_transpose_output_size_matches_torch(student, rng):
    """conv_transpose_output_size gives the size torch's conv_transpose2d produces"""
    cases = [((2, 3, 1, 0, 0), 4,
              "a 2x2 input, 3x3 kernel, stride 1 (the worked example read as a transposed convolution)")]
    for trial in range(12):
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        p, q = int(rng.integers(0, 3)), int(rng.integers(0, s))
        n = int(rng.integers(1, 20))
        want = (n - 1) * s - 2 * p + k + q
        if want < 1:
            continue
        want = F.conv_transpose2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1),
                                  padding=(p, 0), output_padding=(q, 0)).shape[2]
        cases.append(((n, k, s, p, q), want, "with output padding" if q else f"stride {s}, padding {p}"))
    for (_, want, case), got in zip(cases, student.call_each("conv_transpose_output_size", [c[0] for c in cases])):
        expect_int(got, want, "conv_transpose_output_size", case)


# -- convolution forward ----------------------------------------------------------------------------
def check_forward(student, ref, problems, forward, torch_forward):
    """problems: [(x, w, b, param, case)], every call of `forward` in one request; each output against
    torch's (torch_forward(x, w, b, param), a tensor) and the reference's."""
    replies = student.observe_each(forward, [pr[:4] for pr in problems])
    for (x, w, b, param, case), (res, after, seen) in zip(problems, replies):
        expect_unchanged([x, w, b, param], after, forward)
        expect_new(seen, forward, part=0)
        out, _cache = expect_tuple(res, 2, forward)
        expect_close(out, torch_forward(x, w, b, param).numpy(), f"{forward} out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, getattr(ref, forward)(x, w, b, param)[0], f"{forward} out", case, rtol=RTOL, atol=ATOL)


def check_conv_forward(student, ref, problems):
    check_forward(student, ref, problems, "conv2d_forward",
                  lambda x, w, b, param: F.conv2d(t(x), t(w), t(b), stride=param["stride"], padding=param["pad"]))


@part("conv_forward", states=["out[n, f, i, j] = b[f] + sum_{c,u,v} w[f, c, u, v] * xpad[n, c, s*i + u, s*j + v]",
                              TOL, NEW_ARRAY],
      shown=["Random batches against F.conv2d"])
def test_conv_forward_matches_torch(student, ref, rng):
    """conv2d_forward matches F.conv2d for random shapes, strides and paddings"""
    problems = [conv_problem(rng) for _ in range(8)]
    check_conv_forward(student, ref, [(*pr, describe(pr[3])) for pr in problems])


@part("conv_forward", states=["stride", "pad"], shown=["a stride larger than the kernel", "(2, 4, 6, 7, 3, 1, 1, 2, 0)"])
def test_conv_forward_edge_cases(student, ref, rng):
    """conv2d_forward handles one image, one channel, 1x1 kernels, strides larger than the kernel"""
    problems = [(*conv_problem(rng, n=1, c=1, f=1), "one image, one channel, one filter"),
                (*conv_problem(rng, k=(1, 1), s=2, p=0), "a 1x1 kernel with stride 2"),
                (*conv_problem(rng, k=(2, 2), s=3), "stride larger than the kernel")]
    k = int(rng.integers(2, 5))
    x = rng.normal(size=(2, 2, k, k))
    w = rng.normal(size=(3, 2, k, k))
    problems.append((x, w, rng.normal(size=3), {"stride": 1, "pad": 0}, "kernel as large as the image (one output pixel)"))
    problems.append((*conv_problem(rng, k=(3, 2), p=2), "non-square kernel with padding 2"))
    check_conv_forward(student, ref, problems)


@part("conv_forward", states=[UNCHANGED, "plain data"], shown=["conv2d_forward modified its inputs", "check_plain_data"])
def test_conv_forward_leaves_inputs_unchanged(student, rng):
    """conv2d_forward does not modify its inputs"""
    x, w, b, param = conv_problem(rng, p=1)
    _, after = student.call_keeping_args("conv2d_forward", x, w, b, param)
    expect_unchanged([x, w, b, param], after, "conv2d_forward")


# -- convolution backward ---------------------------------------------------------------------------
def backward_with(y, dout):
    """Autograd from y with the upstream gradient dout, as y.backward(t(dout)) but through the sum of
    y * dout: the same gradients bit for bit (the gradient of that sum with respect to y is exactly dout),
    without the shape check of a given gradient tensor, which imports sympy the first time (about 0.4 s of
    CPU in each grading process)."""
    (y * t(dout)).sum().backward()


def torch_conv_grads(x, w, b, param, dout):
    xt, wt, bt = t(x).requires_grad_(True), t(w).requires_grad_(True), t(b).requires_grad_(True)
    backward_with(F.conv2d(xt, wt, bt, stride=param["stride"], padding=param["pad"]), dout)
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def with_conv_dout(rng, problem, case):
    """(x, w, b, param, case, dout) with a random dout of the convolution's output shape."""
    x, w, b, param = problem
    return x, w, b, param, case, rng.normal(size=F.conv2d(t(x), t(w), stride=param["stride"],
                                                          padding=param["pad"]).shape)


def check_backward(student, ref, problems, forward, backward, torch_grads):
    """problems: [(x, w, b, param, case, dout)]. Every call of `forward` in one request, then every call
    of `backward` (each with its own cache) in another; the gradients against torch's and the
    reference's."""
    caches = [expect_tuple(res, 2, forward)[1] for res in student.call_each(forward, [pr[:4] for pr in problems])]
    backwards = student.observe_each(backward, [(pr[5], cache) for pr, cache in zip(problems, caches)])
    for (x, w, b, param, case, dout), cache, (got, after, seen) in zip(problems, caches, backwards):
        expect_unchanged([dout, cache], after, backward)
        expect_new(seen, backward)
        got = expect_tuple(got, 3, backward)
        want = torch_grads(x, w, b, param, dout)
        mine = getattr(ref, backward)(dout, getattr(ref, forward)(x, w, b, param)[1])
        for name, g, wv, r in zip(("dx", "dw", "db"), got, want, mine):
            expect_close(g, wv, f"{backward} {name}", case, rtol=RTOL, atol=ATOL)
            expect_close(g, r, f"{backward} {name}", case, rtol=RTOL, atol=ATOL)


def check_conv_backward(student, ref, problems):
    check_backward(student, ref, problems, "conv2d_forward", "conv2d_backward", torch_conv_grads)


@part("conv_backward", states=["Returns (dx, dw, db)", "db is a sum over the batch and the positions", TOL],
      shown=["Random problems against torch autograd"])
def test_conv_backward_matches_autograd(student, ref, rng):
    """conv2d_backward(dout, cache) matches autograd for random shapes, strides and paddings"""
    problems = []
    for _ in range(6):
        problem = conv_problem(rng)
        problems.append(with_conv_dout(rng, problem, describe(problem[3])))
    check_conv_backward(student, ref, problems)


@part("conv_backward", states=["pixels that no window covers get 0"], shown=["leaves rows uncovered"])
def test_conv_backward_edge_cases(student, ref, rng):
    """conv2d_backward handles uncovered pixels, overlapping windows, one image and 1x1 kernels"""
    # H + 2p - KH not divisible by the stride: the last rows/columns get no gradient.
    while True:
        x, w, b, param = conv_problem(rng, k=(3, 3), s=int(rng.integers(2, 4)))
        h, wd = x.shape[2:]
        if (h + 2 * param["pad"] - 3) % param["stride"] and (wd + 2 * param["pad"] - 3) % param["stride"]:
            break
    problems = [with_conv_dout(rng, (x, w, b, param), "pixels no window covers (stride does not fit)")]
    problems.append(with_conv_dout(rng, conv_problem(rng, k=(4, 4), s=1, p=1),
                                   "heavily overlapping windows (4x4 kernel, stride 1)"))
    problems.append(with_conv_dout(rng, conv_problem(rng, n=1, c=1, f=1), "one image, one channel, one filter"))
    problems.append(with_conv_dout(rng, conv_problem(rng, k=(1, 1), s=3, p=0), "a 1x1 kernel with stride 3"))
    check_conv_backward(student, ref, problems)


@part("conv_backward", states=["conv2d_input_grad(dout, w, input_hw, conv_param)",
                               "conv2d_weight_grad(x, dout, w_shape, conv_param)"],
      shown=["conv2d_input_grad vs autograd", "conv2d_weight_grad vs autograd"])
def test_conv_gradient_pieces(student, rng):
    """conv2d_input_grad and conv2d_weight_grad match autograd"""
    problems = [with_conv_dout(rng, conv_problem(rng), "") for _ in range(4)]
    input_grads = student.call_each("conv2d_input_grad", [(dout, w, tuple(x.shape[2:]), param)
                                                          for x, w, b, param, _, dout in problems])
    for (x, w, b, param, _, dout), got in zip(problems, input_grads):
        expect_close(got, torch_conv_grads(x, w, b, param, dout)[0], "conv2d_input_grad", describe(param),
                     rtol=RTOL, atol=ATOL)
    weight_grads = student.call_each("conv2d_weight_grad", [(x, dout, tuple(w.shape), param)
                                                            for x, w, b, param, _, dout in problems])
    for (x, w, b, param, _, dout), got in zip(problems, weight_grads):
        expect_close(got, torch_conv_grads(x, w, b, param, dout)[1], "conv2d_weight_grad", describe(param),
                     rtol=RTOL, atol=ATOL)


@part("conv_backward", states=["Do not modify dout or the cache", NEW_ARRAY],
      shown=["conv2d_backward modified dout"])
def test_conv_backward_leaves_dout_unchanged(student, rng):
    """conv2d_backward does not modify dout or the cache, and returns new arrays"""
    x, w, b, param = conv_problem(rng, p=1)
    _, cache = student.conv2d_forward(x, w, b, param)
    dout = rng.normal(size=F.conv2d(t(x), t(w), stride=param["stride"], padding=1).shape)
    _, after, seen = student.observe("conv2d_backward", dout, cache)
    expect_unchanged([dout, cache], after, "conv2d_backward")
    expect_new(seen, "conv2d_backward")


@part("conv_backward", states=[NO_GLOBALS], shown=["two forward passes before their backward passes"])
def test_conv_backward_uses_only_its_cache(student, ref, rng):
    """two convolutions with different settings, then their backward passes in reverse order"""
    problems = [conv_problem(rng, k=(3, 3), s=1, p=1), conv_problem(rng, k=(2, 4), s=3, p=2)]
    caches, douts = [], []
    # both forward calls in one request, then both backward calls (the same order of calls in the kernel)
    for (x, w, b, param), res in zip(problems, student.call_each("conv2d_forward", problems)):
        _, cache = expect_tuple(res, 2, "conv2d_forward")
        caches.append(cache)
        douts.append(rng.normal(size=F.conv2d(t(x), t(w), stride=param["stride"], padding=param["pad"]).shape))
    pairs = list(reversed(list(zip(problems, caches, douts))))
    for ((x, w, b, param), _, dout), res in zip(pairs, student.call_each("conv2d_backward",
                                                                        [(d, c) for _, c, d in pairs])):
        got = expect_tuple(res, 3, "conv2d_backward")
        for name, g, want in zip(("dx", "dw", "db"), got, torch_conv_grads(x, w, b, param, dout)):
            expect_close(g, want, f"conv2d_backward {name}",
                         "two forward passes with different settings before their backward passes",
                         rtol=RTOL, atol=ATOL)


# -- transposed convolution forward -----------------------------------------------------------------
def check_convT_forward(student, ref, problems):
    check_forward(student, ref, problems, "conv_transpose2d_forward",
                  lambda x, w, b, param: F.conv_transpose2d(t(x), t(w), t(b), stride=param["stride"],
                                                            padding=param["pad"], output_padding=param["output_pad"]))


@part("conv_transpose_forward", states=["torch's F.conv_transpose2d", "(C_in, C_out, KH, KW)", TOL, NEW_ARRAY,
                                        "any padding p >= 0 for which the output size is at least 1"],
      shown=["Random problems against F.conv_transpose2d", "padding larger than k - 1"])
def test_conv_transpose_forward_matches_torch(student, ref, rng):
    """conv_transpose2d_forward matches F.conv_transpose2d (weights (C_in, C_out, KH, KW))"""
    problems = []
    for _ in range(8):
        problem = convT_problem(rng)
        problems.append((*problem, describe(problem[3])))
    for k, p in (((1, 1), 1), ((2, 1), 2), ((1, 3), 2)):   # always some padding larger than k - 1
        problems.append((*convT_problem(rng, k=k, s=int(rng.integers(2, 4)), p=p),
                         "padding larger than k - 1 (a crop of the full output)"))
    problems.append((*convT_problem(rng, k=(3, 3), s=2), "kernel 3, stride 2"))
    problems.append((*convT_problem(rng, k=(1, 1), s=3), "1x1 kernel, stride 3 (gaps between the stamps)"))
    check_convT_forward(student, ref, problems)


@part("conv_transpose_forward", states=["pad with $k - 1 - p$ zeros on each side"], shown=["The worked example"])
def test_worked_example_is_zero_padding(student, rng):
    """the worked example: a 2x2 input and a 3x3 kernel give the 4x4 conv of the input padded by 2"""
    x = rng.normal(size=(1, 1, 2, 2))
    w = rng.normal(size=(1, 1, 3, 3))
    out, _ = expect_tuple(student.conv_transpose2d_forward(x, w, np.zeros(1), {"stride": 1, "pad": 0, "output_pad": 0}),
                          2, "conv_transpose2d_forward")
    want = F.conv2d(F.pad(t(x), (2, 2, 2, 2)), t(w).flip(2, 3)).numpy()
    expect_close(out, want, "conv_transpose2d_forward out", "2x2 input, 3x3 kernel, stride 1: padding with 2 zeros "
                 "and convolving with the flipped kernel", rtol=RTOL, atol=ATOL)


@part("conv_transpose_forward", states=["the adjoint"], shown=["The adjoint identity"])
def test_adjoint_identity(student, rng):
    """<conv(x), y> = <x, conv_transpose(y)> for your two functions with shared weights and zero biases"""
    trials = []
    for _ in range(6):
        while True:  # sizes such that one output padding q maps the conv's output size back to (H, W)
            s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
            q = int(rng.integers(0, s))
            h = kh - 2 * p + s * int(rng.integers(0, 4)) + q
            wd = kw - 2 * p + s * int(rng.integers(0, 4)) + q
            if h >= 1 and wd >= 1:
                break
        n, c, f = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        x, w = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, kh, kw))
        y = rng.normal(size=F.conv2d(t(x), t(w), stride=s, padding=p).shape)  # the shape conv(x) must have
        trials.append((x, w, y, s, p, q))
    # every conv call in one request, then every transposed conv call in another
    convs = student.call_each("conv2d_forward", [(x, w, np.zeros(w.shape[0]), {"stride": s, "pad": p})
                                                 for x, w, y, s, p, q in trials])
    conv_outs = [expect_array(expect_tuple(res, 2, "conv2d_forward")[0], tr[2].shape, "conv2d_forward out")
                 for tr, res in zip(trials, convs)]
    convTs = student.call_each("conv_transpose2d_forward", [(y, w, np.zeros(w.shape[1]),
                                                             {"stride": s, "pad": p, "output_pad": q})
                                                            for x, w, y, s, p, q in trials])
    for (x, w, y, s, p, q), conv_x, res in zip(trials, conv_outs, convTs):
        case = describe({"stride": s, "pad": p, "output_pad": q})
        convT_y, _ = expect_tuple(res, 2, "conv_transpose2d_forward")
        convT_y = expect_array(convT_y, x.shape, "conv_transpose2d_forward out")
        lhs, rhs = float(np.sum(conv_x * y)), float(np.sum(x * convT_y))
        scale = float(np.sum(np.abs(conv_x * y))) + 1.0
        if not abs(lhs - rhs) <= 1e-10 * scale:
            raise CheckFailure("the adjoint identity <conv(x), y> = <x, conv_transpose(y)> fails with shared "
                               f"weights and zero biases ({case})")


@part("conv_transpose_forward", states=["Do not modify the inputs"], shown=["conv_transpose2d_forward modified its inputs"])
def test_conv_transpose_forward_leaves_inputs_unchanged(student, rng):
    """conv_transpose2d_forward does not modify its inputs"""
    x, w, b, param = convT_problem(rng)
    _, after = student.call_keeping_args("conv_transpose2d_forward", x, w, b, param)
    expect_unchanged([x, w, b, param], after, "conv_transpose2d_forward")


# -- transposed convolution backward ----------------------------------------------------------------
def torch_convT_grads(x, w, b, param, dout):
    xt, wt, bt = t(x).requires_grad_(True), t(w).requires_grad_(True), t(b).requires_grad_(True)
    backward_with(F.conv_transpose2d(xt, wt, bt, stride=param["stride"], padding=param["pad"],
                                     output_padding=param["output_pad"]), dout)
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def with_convT_dout(rng, problem, case):
    """(x, w, b, param, case, dout) with a random dout of the transposed convolution's output shape."""
    x, w, b, param = problem
    return x, w, b, param, case, rng.normal(size=F.conv_transpose2d(
        t(x), t(w), stride=param["stride"], padding=param["pad"], output_padding=param["output_pad"]).shape)


def check_convT_backward(student, ref, problems):
    check_backward(student, ref, problems, "conv_transpose2d_forward", "conv_transpose2d_backward",
                   torch_convT_grads)


@part("conv_transpose_backward", states=["Returns (dx, dw, db)", TOL, "Do not modify dout or the cache"],
      shown=["Random problems against autograd through F.conv_transpose2d", "padding larger than k - 1"])
def test_conv_transpose_backward_matches_autograd(student, ref, rng):
    """conv_transpose2d_backward(dout, cache) matches autograd through F.conv_transpose2d"""
    problems = []
    for _ in range(7):
        problem = convT_problem(rng)
        problems.append(with_convT_dout(rng, problem, describe(problem[3])))
    problems.append(with_convT_dout(rng, convT_problem(rng, k=(3, 3), s=2), "kernel 3, stride 2"))
    problems.append(with_convT_dout(rng, convT_problem(rng, k=(2, 1), s=2, p=2), "padding larger than k - 1"))
    check_convT_backward(student, ref, problems)


@part("conv_transpose_backward", states=["Do not modify dout or the cache"],
      shown=["conv_transpose2d_backward modified dout"])
def test_conv_transpose_backward_leaves_dout_unchanged(student, rng):
    """conv_transpose2d_backward does not modify dout or the cache"""
    x, w, b, param = convT_problem(rng)
    _, cache = student.conv_transpose2d_forward(x, w, b, param)
    dout = rng.normal(size=F.conv_transpose2d(t(x), t(w), stride=param["stride"], padding=param["pad"],
                                              output_padding=param["output_pad"]).shape)
    _, after = student.call_keeping_args("conv_transpose2d_backward", dout, cache)
    expect_unchanged([dout, cache], after, "conv_transpose2d_backward")


@part("conv_transpose_backward", states=[NO_GLOBALS], shown=["two forward passes before their backward passes"])
def test_conv_transpose_backward_uses_only_its_cache(student, rng):
    """two transposed convolutions with different settings, then their backward passes in reverse order"""
    problems = [convT_problem(rng, k=(3, 3), s=2, p=1), convT_problem(rng, k=(2, 4), s=3, p=0)]
    # both forward calls in one request, then both backward calls in reverse order (as separate calls would be)
    caches = [expect_tuple(res, 2, "conv_transpose2d_forward")[1]
              for res in student.call_each("conv_transpose2d_forward", problems)]
    pairs = [with_convT_dout(rng, pr, "") + (cache,) for pr, cache in reversed(list(zip(problems, caches)))]
    for (x, w, b, param, _, dout, cache), res in zip(pairs, student.call_each("conv_transpose2d_backward",
                                                                              [(p[5], p[6]) for p in pairs])):
        got = expect_tuple(res, 3, "conv_transpose2d_backward")
        for name, g, want in zip(("dx", "dw", "db"), got, torch_convT_grads(x, w, b, param, dout)):
            expect_close(g, want, f"conv_transpose2d_backward {name}",
                         "two forward passes with different settings before their backward passes",
                         rtol=RTOL, atol=ATOL)
