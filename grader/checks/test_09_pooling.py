"""Hidden checks of notebook 09, pooling.

Shapes, kernels, strides and paddings are drawn from `rng` at grade time (padding <= kernel // 2,
as torch requires); the examples of one batch have wildly different scales. Inputs are continuous
random values, except in the tie check, where small integers make exact ties in most windows and the
notebook's rule (the first maximum in row-major window order gets the whole gradient) is graded. Oracles:
torch's F.max_pool2d / F.avg_pool2d (count_include_pad=True) / F.adaptive_avg_pool2d /
F.fractional_max_pool2d (its window starts read from return_indices on a column 0, 1, 2, ...) and
autograd in float64, a direct loop over windows, and the reference solution. Fractional pooling draws
its samples u from `rng` in [0, 1) (0 itself only on short axes, where torch's float64 products of
u = 0 never land a rounding error below an integer). Caches are the student's own
design: backward passes are only tested end to end, as backward(dout, forward(...)[1]).
Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_new, expect_tuple, expect_unchanged,
                            part)
from grader.kernel import StudentRaised

RTOL, ATOL = 1e-12, 1e-14  # pooling is a max or a short sum: float64 agrees almost exactly
GRAD_RTOL, GRAD_ATOL = 1e-11, 1e-13

NEW_ARRAY = "every array a function returns is a new, writable array"
NO_GLOBALS = "reads everything it needs from its cache"
PLAIN = "plain data"


def t(x, requires_grad=False):
    return torch.tensor(np.array(x, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def random_setting(rng, kind="general"):
    """(x, pool_param, ((kh, kw), (sh, sw), (ph, pw)), case) with a valid random configuration."""
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if kind == "square" or rng.random() < 0.5:
        kw = kh
    sh, sw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h = int(rng.integers(max(1, kh - 2 * ph), 13))
    w = int(rng.integers(max(1, kw - 2 * pw), 13))
    # each example of the batch at its own scale, from 1e-3 to 1e3
    x = rng.normal(size=(n, c, h, w)) * rng.choice([1e-3, 0.1, 1.0, 100.0, 1e3], size=(n, 1, 1, 1))
    style = int(rng.integers(0, 3))
    if style == 0:
        param = {"kernel": kh if kh == kw else (kh, kw), "stride": (sh, sw), "pad": (ph, pw)}
    elif style == 1 and kh == kw and sh == sw and ph == pw:
        param = {"kernel": kh, "stride": sh, "pad": ph}
    else:
        param = {"kernel": (kh, kw), "stride": (sh, sw), "pad": (ph, pw)}
    return x, param, ((kh, kw), (sh, sw), (ph, pw)), "random shape, kernel, stride and padding"


EDGE_SETTINGS = [
    # (case, kernel, stride, pad, H, W)
    ("kernel 1 (identity)", (1, 1), (1, 1), (0, 0), 5, 4),
    ("kernel 2, stride 2, odd height and width (the last row and column are dropped)", (2, 2), (2, 2), (0, 0), 7, 5),
    ("stride larger than the kernel", (2, 2), (3, 3), (0, 0), 9, 8),
    ("overlapping windows with padding", (3, 3), (1, 1), (1, 1), 6, 7),
    ("non-square kernel, stride and padding", (4, 2), (2, 1), (2, 1), 7, 6),
    ("a window as large as the map", (5, 6), (1, 1), (0, 0), 5, 6),
    ("default stride (= kernel) and no padding given", (3, 3), None, None, 9, 7),
]


def edge_settings(rng):
    for case, k, s, p, h, w in EDGE_SETTINGS:
        x = rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(1, 3)), h, w))
        param = {"kernel": k}
        if s is not None:
            param["stride"] = s
        if p is not None:
            param["pad"] = p
        yield x, param, (k, s or k, p or (0, 0)), case


def backward_with(y, dout):
    """Autograd from y with the upstream gradient dout, as y.backward(t(dout)) but through the sum of
    y * dout: the same gradients bit for bit (the gradient of that sum with respect to y is exactly dout),
    without the shape check of a given gradient tensor, which imports sympy the first time (about 0.4 s of
    CPU in each grading process)."""
    (y * t(dout)).sum().backward()


def torch_pool(x, sizes, kind, dout=None):
    k, s, p = sizes
    xt = t(x, requires_grad=dout is not None)
    if kind == "max":
        y = F.max_pool2d(xt, k, s, p)
    else:
        y = F.avg_pool2d(xt, k, s, p, count_include_pad=True)
    if dout is None:
        return y.detach().numpy()
    backward_with(y, dout)
    return y.detach().numpy(), xt.grad.numpy()


# -- pool_windows ----------------------------------------------------------------------------------
def loop_windows(x, k, s, p, pad_value):
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=pad_value)
    ho = (x.shape[2] + 2 * p[0] - k[0]) // s[0] + 1
    wo = (x.shape[3] + 2 * p[1] - k[1]) // s[1] + 1
    out = np.empty(x.shape[:2] + (ho, wo) + tuple(k))
    for a in range(ho):
        for b in range(wo):
            out[:, :, a, b] = xp[:, :, a * s[0]:a * s[0] + k[0], b * s[1]:b * s[1] + k[1]]
    return out


@part("pool_windows", states=["floor((size + 2 * pad - kernel) / stride) + 1", "Returns an int"],
      shown=["Output sizes by hand"])
def test_pool_output_size(student, rng):
    """pool_output_size follows floor((size + 2 pad - kernel) / stride) + 1"""
    cases = []
    for _ in range(20):
        k, s = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        p = int(rng.integers(0, k // 2 + 1))
        cases.append((int(rng.integers(max(1, k - 2 * p), 60)), k, s, p))
    for (size, k, s, p), got in zip(cases, student.call_each("pool_output_size", cases)):
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            raise CheckFailure(f"pool_output_size returned {type(got).__name__}; expected an int")
        if int(got) != (size + 2 * p - k) // s + 1:
            raise CheckFailure("pool_output_size is wrong for a random size, kernel, stride and padding "
                               "(remember the floor: a last window that does not fit is dropped)")


@part("pool_windows", states=["a new array (not a view)", "pad_value : float", "Do not modify x",
                              "pool_windows must be exact"],
      shown=["pad value", "a new array, not a view", "Random maps against a direct double loop"])
def test_pool_windows_match_a_loop(student, rng):
    """pool_windows returns every window of the padded input, for random and edge-case settings"""
    settings = [random_setting(rng) for _ in range(6)] + list(edge_settings(rng))
    # every pad value in turn; the two padded edge settings get -inf and 7.5, never only 0
    calls = [(x, k, s, p, (-np.inf, 7.5, 0.0)[i % 3]) for i, (x, _param, (k, s, p), _case) in enumerate(settings)]
    for (x, k, s, p, pad_value), (*_, case), (got, after, seen) in zip(calls, settings,
                                                                     student.observe_each("pool_windows", calls)):
        want = loop_windows(x, k, s, p, pad_value)
        expect_unchanged([x, k, s, p, pad_value], after, "pool_windows")
        expect_new(seen, "pool_windows")
        expect_close(got, want, "pool_windows", case, rtol=0.0, atol=0.0)


# -- max pooling -------------------------------------------------------------------------------------
def all_settings(rng, n_random=6):
    return [random_setting(rng) for _ in range(n_random)] + list(edge_settings(rng))


@part("max_pool_forward", states=["F.max_pool2d", "\"stride\" (default: the kernel)", "\"pad\" (default 0)",
                                  "stride and pad may also be pairs", "pooled outputs within rtol 1e-12, atol 1e-14"],
      shown=["Random maps against F.max_pool2d", "default stride"])
def test_max_pool_forward_matches_torch(student, ref, rng):
    """max_pool_forward matches F.max_pool2d for random and edge-case settings"""
    settings = all_settings(rng)
    for (x, param, sizes, case), result in zip(settings, student.call_each("max_pool_forward", [s[:2] for s in settings])):
        out, _ = expect_tuple(result, 2, "max_pool_forward")
        expect_close(out, torch_pool(x, sizes, "max"), "max_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.max_pool_forward(x, param)[0], "max_pool_forward out", case, rtol=RTOL, atol=ATOL)


@part("max_pool_forward", states=["The border is padded with -inf"], shown=["Padding is -inf, not 0"])
def test_max_pool_pads_with_minus_infinity(student, rng):
    """max_pool_forward pads with -inf: all-negative maps keep negative maxima at the border"""
    settings = []
    for _ in range(3):
        k = int(rng.integers(2, 5))
        p = int(rng.integers(1, k // 2 + 1))
        x = -rng.uniform(1.0, 5.0, size=(int(rng.integers(1, 3)), 2, int(rng.integers(k, 10)), int(rng.integers(k, 10))))
        param = {"kernel": k, "stride": int(rng.integers(1, 3)), "pad": p}
        settings.append((x, param, ((k, k), (param["stride"],) * 2, (p, p))))
    for (x, param, sizes), result in zip(settings, student.call_each("max_pool_forward", [s[:2] for s in settings])):
        out, _ = expect_tuple(result, 2, "max_pool_forward")
        expect_close(out, torch_pool(x, sizes, "max"), "max_pool_forward out", "an all-negative map with padding",
                     rtol=RTOL, atol=ATOL)


@part("max_pool_forward", states=["Do not modify x", NEW_ARRAY, PLAIN],
      shown=["max_pool_forward modified", "check_plain_data", "new array"])
def test_max_pool_forward_leaves_input_unchanged(student, rng):
    """max_pool_forward does not modify x or pool_param, returns a new out and a plain-data cache"""
    for kind in ("general", "square"):
        x, param, _, _ = random_setting(rng, kind)
        res, after, seen = student.observe("max_pool_forward", x, param)
        expect_tuple(res, 2, "max_pool_forward")
        expect_unchanged([x, param], after, "max_pool_forward")
        expect_new(seen, "max_pool_forward", part=0)
    x = rng.normal(size=(2, 2, 4, 5))  # kernel 1, defaults: the output has the values of x, in a new array
    _, after, seen = student.observe("max_pool_forward", x, {"kernel": 1})
    expect_unchanged([x, {"kernel": 1}], after, "max_pool_forward")
    expect_new(seen, "max_pool_forward", part=0)


def check_backward(student, kind, settings, rng):
    """settings: [(x, param, sizes, case)]. Every forward call in one request, then every backward call
    (each with its own cache and a random dout) in another."""
    fwd, bwd = f"{kind}_pool_forward", f"{kind}_pool_backward"
    caches, douts = [], []
    for (x, param, sizes, _), result in zip(settings, student.call_each(fwd, [s[:2] for s in settings])):
        out, cache = expect_tuple(result, 2, fwd)
        out = expect_array(out, torch_pool(x, sizes, kind).shape, f"{fwd} out")
        caches.append(cache)
        douts.append(rng.normal(size=out.shape))
    backwards = student.observe_each(bwd, list(zip(douts, caches)))
    for (x, _, sizes, case), dout, cache, (dx, after, seen) in zip(settings, douts, caches, backwards):
        _, want = torch_pool(x, sizes, kind, dout)
        expect_unchanged([dout, cache], after, bwd)
        expect_new(seen, bwd)
        expect_close(dx, want, f"{bwd} dx", case, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@part("max_pool_backward", states=["max_pool_backward(dout, cache)", "do not modify dout or the cache",
                                   "gradients within rtol 1e-11, atol 1e-13", NEW_ARRAY],
      shown=["Random maps against autograd", "modified dout"])
def test_max_pool_backward_matches_autograd(student, rng):
    """max_pool_backward(dout, cache) matches autograd of F.max_pool2d, overlapping windows included"""
    check_backward(student, "max", all_settings(rng), rng)


@part("max_pool_backward", states=["Accumulate with np.add.at"], shown=["wins 9 overlapping windows"])
def test_max_pool_backward_accumulates_over_windows(student, rng):
    """max_pool_backward sums the gradients of all the windows an entry wins"""
    n, c, h, w = 2, 2, int(rng.integers(5, 10)), int(rng.integers(5, 10))
    x = rng.normal(size=(n, c, h, w))
    x[:, :, h // 2, w // 2] = 10.0 + rng.random(size=(n, c))  # a peak that wins up to 9 windows
    param = {"kernel": 3, "stride": 1, "pad": 1}
    check_backward(student, "max", [(x, param, ((3, 3), (1, 1), (1, 1)),
                                     "one large entry that wins many overlapping windows")], rng)


def first_max_grad(x, sizes, dout):
    """dx of max pooling with every window's whole gradient on its first maximum in row-major order
    (a loop over windows: the oracle of the tie rule)."""
    (kh, kw), (sh, sw), (ph, pw) = sizes
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    dxp = np.zeros_like(xp)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for a in range(dout.shape[2]):
                for b in range(dout.shape[3]):
                    win = xp[n, c, a * sh:a * sh + kh, b * sw:b * sw + kw]
                    i, j = divmod(int(np.argmax(win)), kw)
                    dxp[n, c, a * sh + i, b * sw + j] += dout[n, c, a, b]
    return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


@part("max_pool_backward", states=["the whole gradient of that window goes to the first of them in row-major order"],
      shown=["Ties", "first maximum wins", "ties in overlapping windows"])
def test_max_pool_backward_ties_go_to_the_first_maximum(student, rng):
    """with exact ties, each window's gradient goes to its first maximum in row-major order"""
    cases = [((2, 2), (2, 2), (0, 0), "exact ties, kernel 2, stride 2"),
             ((3, 3), (1, 1), (1, 1), "exact ties in overlapping windows with padding"),
             ((3, 2), (2, 1), (1, 1), "exact ties, non-square kernel and stride")]
    settings = []
    for k, s, p, case in cases:
        h, w = int(rng.integers(k[0] + 1, 9)), int(rng.integers(k[1] + 1, 9))
        x = rng.integers(0, 3, size=(2, 2, h, w)).astype(np.float64) * float(rng.choice([-1.0, 1.0]))
        x[0, 0] = 1.0  # one map entirely tied
        # dout has the shape torch gives (checked below); drawn here, in the order of the cases
        dout = rng.normal(size=torch_pool(x, (k, s, p), "max").shape)
        settings.append((x, {"kernel": k, "stride": s, "pad": p}, (k, s, p), case, dout))
    # every forward call in one request, then every backward call with its own cache
    caches = []
    for (x, _, sizes, _, dout), result in zip(settings, student.call_each("max_pool_forward", [s[:2] for s in settings])):
        out, cache = expect_tuple(result, 2, "max_pool_forward")
        expect_array(out, dout.shape, "max_pool_forward out")
        caches.append(cache)
    backwards = student.call_each("max_pool_backward", [(s[4], cache) for s, cache in zip(settings, caches)])
    for (x, _, sizes, case, dout), dx in zip(settings, backwards):
        expect_close(dx, first_max_grad(x, sizes, dout), "max_pool_backward dx", case,
                     rtol=GRAD_RTOL, atol=GRAD_ATOL)


def check_two_forwards_first(student, kind, rng):
    """Two forward passes with different settings and shapes, then both backward passes (in reverse
    order): each backward pass must use only its own cache."""
    fwd, bwd = f"{kind}_pool_forward", f"{kind}_pool_backward"
    settings = [(rng.normal(size=(2, 3, 9, 8)), {"kernel": 3, "stride": 1, "pad": 1}, ((3, 3), (1, 1), (1, 1))),
                (rng.normal(size=(1, 2, 7, 10)), {"kernel": (2, 4), "stride": (2, 3), "pad": (1, 0)},
                 ((2, 4), (2, 3), (1, 0)))]
    caches, douts = [], []
    # both forward calls in one request, then both backward calls (the same order of calls in the kernel)
    for (x, param, sizes), result in zip(settings, student.call_each(fwd, [s[:2] for s in settings])):
        out, cache = expect_tuple(result, 2, fwd)
        out = expect_array(out, torch_pool(x, sizes, kind).shape, f"{fwd} out")
        caches.append(cache)
        douts.append(rng.normal(size=out.shape))
    pairs = list(reversed(list(zip(settings, caches, douts))))
    for ((x, _param, sizes), _, dout), dx in zip(pairs, student.call_each(bwd, [(d, c) for _, c, d in pairs])):
        _, want = torch_pool(x, sizes, kind, dout)
        expect_close(dx, want, f"{bwd} dx",
                     "two forward passes with different settings before their backward passes",
                     rtol=GRAD_RTOL, atol=GRAD_ATOL)


@part("max_pool_backward", states=[NO_GLOBALS], shown=["two forward passes before their backward passes"])
def test_max_pool_backward_uses_only_its_cache(student, rng):
    """two max-pooling forward passes with different settings, then their backward passes"""
    check_two_forwards_first(student, "max", rng)



# -- average pooling ----------------------------------------------------------------------------------
@part("avg_pool_forward", states=["count_include_pad=True", "pooled outputs within rtol 1e-12, atol 1e-14"],
      shown=["Random maps against F.avg_pool2d"])
def test_avg_pool_forward_matches_torch(student, ref, rng):
    """avg_pool_forward matches F.avg_pool2d(count_include_pad=True) for random and edge-case settings"""
    settings = all_settings(rng)
    for (x, param, sizes, case), result in zip(settings, student.call_each("avg_pool_forward", [s[:2] for s in settings])):
        out, _ = expect_tuple(result, 2, "avg_pool_forward")
        expect_close(out, torch_pool(x, sizes, "avg"), "avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.avg_pool_forward(x, param)[0], "avg_pool_forward out", case, rtol=RTOL, atol=ATOL)


@part("avg_pool_forward", states=["divided by the full window size", "do not modify x", NEW_ARRAY],
      shown=["Padding counts as zeros", "avg_pool_forward modified x", "check_plain_data"])
def test_avg_pool_counts_the_padding(student, rng):
    """avg_pool_forward divides by the full window, padding included, and leaves x unchanged"""
    k = int(rng.integers(2, 5))
    p = int(rng.integers(1, k // 2 + 1))
    x = rng.uniform(1.0, 2.0, size=(1, 2, int(rng.integers(k, 9)), int(rng.integers(k, 9))))
    param = {"kernel": k, "stride": 1, "pad": p}
    out, after, seen = student.observe("avg_pool_forward", x, param)
    expect_unchanged([x, param], after, "avg_pool_forward")
    expect_new(seen, "avg_pool_forward", part=0)
    out, _ = expect_tuple(out, 2, "avg_pool_forward")
    expect_close(out, torch_pool(x, ((k, k), (1, 1), (p, p)), "avg"), "avg_pool_forward out",
                 "border windows that cover padding (count_include_pad=True)", rtol=RTOL, atol=ATOL)


@part("avg_pool_backward", states=["summed where windows overlap", "the part that falls on the padding discarded",
                                   "do not modify dout or the cache", "gradients within rtol 1e-11, atol 1e-13"],
      shown=["Random maps against autograd", "Overlap and padding", "modified dout"])
def test_avg_pool_backward_matches_autograd(student, rng):
    """avg_pool_backward(dout, cache) matches autograd of F.avg_pool2d, overlapping windows included"""
    check_backward(student, "avg", all_settings(rng), rng)



@part("avg_pool_backward", states=[NO_GLOBALS], shown=["two forward passes before their backward passes"])
def test_avg_pool_backward_uses_only_its_cache(student, rng):
    """two average-pooling forward passes with different settings, then their backward passes"""
    check_two_forwards_first(student, "avg", rng)

# -- global average pooling ------------------------------------------------------------------------------
@part("global_avg_pool", states=["out of shape (N, C, 1, 1)", "dout[n, c, 0, 0] / (H * W)", "Do not modify x"],
      shown=["global average pool output", "dx vs autograd", "a 1x1 map"])
def test_global_avg_pool_matches_torch(student, ref, rng):
    """global average pooling forward and backward match F.adaptive_avg_pool2d(x, 1) and autograd"""
    shapes = [(int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 12)), int(rng.integers(1, 12)))
              for _ in range(5)] + [(1, 1, 1, 1), (2, 3, 1, 7), (3, 2, 6, 1)]
    trials = []
    for shape in shapes:
        x = rng.normal(size=shape) * 10 + 3
        xt = t(x, True)
        y = F.adaptive_avg_pool2d(xt, 1)
        dout = rng.normal(size=y.shape)
        backward_with(y, dout)
        trials.append((x, xt, y, dout))
    # every forward call in one request, then every backward call with its own cache
    caches = []
    forwards = student.observe_each("global_avg_pool_forward", [(tr[0],) for tr in trials])
    for (x, xt, y, dout), (res, after, seen) in zip(trials, forwards):
        case = "a 1x1 map" if x.shape[2:] == (1, 1) else "a map of one row" if x.shape[2] == 1 else "random shape"
        out, cache = expect_tuple(res, 2, "global_avg_pool_forward")
        expect_unchanged([x], after, "global_avg_pool_forward")
        expect_new(seen, "global_avg_pool_forward", part=0)
        expect_close(out, y.detach().numpy(), "global_avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.global_avg_pool_forward(x)[0], "global_avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        caches.append(cache)
    backwards = student.observe_each("global_avg_pool_backward", [(tr[3], cache) for tr, cache in zip(trials, caches)])
    for (x, xt, y, dout), cache, (dx, after, seen) in zip(trials, caches, backwards):
        case = "a 1x1 map" if x.shape[2:] == (1, 1) else "a map of one row" if x.shape[2] == 1 else "random shape"
        expect_unchanged([dout, cache], after, "global_avg_pool_backward")
        expect_new(seen, "global_avg_pool_backward")
        expect_close(dx, xt.grad.numpy(), "global_avg_pool_backward dx", case, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@part("global_avg_pool", states=[NO_GLOBALS, NEW_ARRAY], shown=["two forward passes before their backward passes",
                                                                  "a real array, not a read-only broadcast view"])
def test_global_avg_pool_backward_uses_only_its_cache(student, rng):
    """two global-average-pooling forward passes of different shapes, then their backward passes"""
    xs = [rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(1, 2, 7, 3))]
    # both forward calls in one request, then both backward calls in reverse order (as separate calls would be)
    caches = [expect_tuple(r, 2, "global_avg_pool_forward")[1]
              for r in student.call_each("global_avg_pool_forward", [(x,) for x in xs])]
    pairs = [(x, cache, rng.normal(size=x.shape[:2] + (1, 1))) for x, cache in reversed(list(zip(xs, caches)))]
    for (x, cache, dout), (dx, _, seen) in zip(pairs, student.observe_each("global_avg_pool_backward",
                                                                           [(d, c) for _, c, d in pairs])):
        want = np.broadcast_to(dout / (x.shape[2] * x.shape[3]), x.shape)
        expect_new(seen, "global_avg_pool_backward")
        expect_close(dx, want, "global_avg_pool_backward dx",
                     "two forward passes with different shapes before their backward passes",
                     rtol=GRAD_RTOL, atol=GRAD_ATOL)


# -- fractional max pooling ---------------------------------------------------------------------------
def torch_starts(n_in, n_out, kernel, u):
    """torch's window starts along one axis: pool a column 0, 1, ..., n_in - 1 with return_indices;
    window i's maximum is its last row, start_i + kernel - 1."""
    col = torch.arange(float(n_in), dtype=torch.float64).reshape(1, 1, n_in, 1)
    samples = torch.tensor([[[0.5, u]]], dtype=torch.float64)
    _, idx = F.fractional_max_pool2d(col, (kernel, 1), output_size=(n_out, 1), return_indices=True,
                                     _random_samples=samples)
    return idx.numpy().ravel() - (kernel - 1)


def random_axis(rng, kind="general"):
    """(n_in, n_out, kernel) with n_out + kernel - 1 <= n_in; kind "ratio" keeps 1 < alpha < 2."""
    kernel = int(rng.integers(1, 5))
    if kind == "ratio":
        n_out = int(rng.integers(3, 60))
        n_in = kernel + int(rng.integers(n_out, 2 * (n_out - 1)))  # alpha = (n_in - kernel) / (n_out - 1) in (1, 2)
        return n_in, n_out, kernel
    n_in = int(rng.integers(kernel, 80))
    return n_in, int(rng.integers(1, n_in - kernel + 2)), kernel


def check_starts(student, cases):
    """cases: [(n_in, n_out, kernel, u, case)], every call in one request."""
    for (n_in, n_out, kernel, u, case), got in zip(cases, student.call_each("fractional_pool_starts",
                                                                           [c[:4] for c in cases])):
        got = expect_array(got, (n_out,), "fractional_pool_starts", kind="iu")
        want = torch_starts(n_in, n_out, kernel, u)
        if not np.array_equal(got, want):
            raise CheckFailure(f"fractional_pool_starts, {case}: wrong at {int((got != want).sum())} of {n_out} "
                               "window starts (compare with torch's rule in the notebook)")


@part("fractional_pool_starts", states=["starts[i] = floor((i + u) * alpha) - floor(u * alpha)",
                                        "starts[n_out - 1] = n_in - kernel", "integer numpy array of shape (n_out,)",
                                        "alpha = (n_in - kernel) / (n_out - 1)"],
      shown=["Against torch", "starts for u = 0.3"])
def test_fractional_pool_starts_match_torch(student, rng):
    """fractional_pool_starts gives torch's window starts for random lengths, kernels and samples"""
    cases = [(*random_axis(rng, "ratio"), float(rng.random()), "a random axis with a ratio between 1 and 2")
             for _ in range(12)]
    cases += [(*random_axis(rng), float(rng.random()), "a random axis, length, kernel and sample") for _ in range(12)]
    check_starts(student, cases)


@part("fractional_pool_starts", states=["when n_out = 1 the only window starts at n_in - kernel"],
      shown=["one window", "alpha = 1", "starts for u = 0"])
def test_fractional_pool_starts_edge_cases(student, rng):
    """one window, ratio 1 (stride 1), ratio >= 2, kernel 1, a sample of 0 or close to 1"""
    n = int(rng.integers(6, 40))
    k = int(rng.integers(1, 4))
    cases = [(n, 1, k, float(rng.random()), "a single window"),
             (n, n - k + 1, k, float(rng.random()), "ratio 1: as many windows as fit (stride 1)"),
             (n, max(2, n // 3), 2, float(rng.random()), "a ratio of about 3 (windows skip rows)"),
             (n, max(1, n // 2), 1, float(rng.random()), "kernel 1"),
             (n, max(2, (2 * n) // 3), 2, 0.0, "a sample of 0"),
             (n, max(2, (2 * n) // 3), 2, 1.0 - 1e-9, "a sample just below 1"),
             (k, 1, k, float(rng.random()), "one window as long as the axis")]
    check_starts(student, cases)


def expect_value_error(student, name, args, case):
    try:
        getattr(student, name)(*args)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"{name}, {case}: raised {err.type_name}; expected a ValueError")
        return
    raise CheckFailure(f"{name}, {case}: returned normally; expected a ValueError")


@part("fractional_pool_starts", states=["Raises ValueError when kernel < 1, n_out < 1 or n_out + kernel - 1 > n_in"],
      shown=["Windows that do not fit"])
def test_fractional_pool_starts_rejects_windows_that_do_not_fit(student, rng):
    """fractional_pool_starts raises ValueError when the windows do not fit"""
    n_in, k = int(rng.integers(4, 30)), int(rng.integers(1, 4))
    expect_value_error(student, "fractional_pool_starts", (n_in, n_in - k + 2, k, 0.5),
                       "one window more than fit (n_out + kernel - 1 > n_in)")
    expect_value_error(student, "fractional_pool_starts", (n_in, 0, k, 0.5), "no windows")
    expect_value_error(student, "fractional_pool_starts", (n_in, 2, 0, 0.5), "kernel 0")
    expect_value_error(student, "fractional_pool_starts", (k, 1, k + 1, 0.5), "a kernel longer than the axis")


def random_fractional(rng):
    """(x, kernel, output_size, (kh, kw), (ho, wo), samples, case) for a valid random configuration."""
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if rng.random() < 0.5:
        kw = kh
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = int(rng.integers(kh + 1, 16)), int(rng.integers(kw + 1, 16))
    ho, wo = int(rng.integers(1, h - kh + 2)), int(rng.integers(1, w - kw + 2))
    if rng.random() < 0.5:  # the usual use: a ratio between 1 and 2
        ho, wo = max(1, min(h - kh + 1, int(h / 1.41))), max(1, min(w - kw + 1, int(w / 1.41)))
    x = rng.normal(size=(n, c, h, w)) * rng.choice([1e-3, 0.1, 1.0, 100.0, 1e3], size=(n, 1, 1, 1))
    kernel = kh if kh == kw and rng.random() < 0.5 else (kh, kw)
    output_size = ho if ho == wo and rng.random() < 0.5 else (ho, wo)
    samples = rng.random((n, c, 2))
    return x, kernel, output_size, (kh, kw), (ho, wo), samples, "random shape, kernel, output size and samples"


FRACTIONAL_EDGE = [
    # (case, (kh, kw), (ho, wo), (H, W))
    ("kernel 1", (1, 1), (4, 5), (7, 9)),
    ("as many windows as fit (stride 1)", (2, 3), (6, 4), (7, 6)),
    ("a single window per axis (the bottom-right block)", (2, 2), (1, 1), (6, 5)),
    ("a non-square kernel and output, ratio sqrt(2)", (3, 2), (7, 10), (12, 15)),
    ("a ratio of about 3 (windows skip rows)", (2, 2), (3, 4), (10, 13)),
    ("height and width of very different sizes", (2, 2), (2, 9), (4, 14)),
]


def fractional_settings(rng, n_random=6):
    out = [random_fractional(rng) for _ in range(n_random)]
    for case, k, o, (h, w) in FRACTIONAL_EDGE:
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        out.append((rng.normal(size=(n, c, h, w)), k, o, k, o, rng.random((n, c, 2)), case))
    return out


def torch_fractional(x, k, o, samples, dout=None):
    xt = t(x, requires_grad=dout is not None)
    y = F.fractional_max_pool2d(xt, k, output_size=o, _random_samples=t(samples))
    if dout is None:
        return y.detach().numpy()
    backward_with(y, dout)
    return y.detach().numpy(), xt.grad.numpy()


@part("fractional_max_pool_forward", states=["F.fractional_max_pool2d", "index 0 is the width, 1 the height",
                                             "Plane (n, c) has its own division", "kernel : int or pair (kh, kw)",
                                             "output_size : int or pair (H_out, W_out)",
                                             "pooled outputs within rtol 1e-12, atol 1e-14"],
      shown=["Random maps against F.fractional_max_pool2d", "index 0 is the width"])
def test_fractional_max_pool_forward_matches_torch(student, ref, rng):
    """fractional_max_pool_forward matches F.fractional_max_pool2d for random and edge-case settings"""
    settings = fractional_settings(rng)
    forwards = student.call_each("fractional_max_pool_forward", [(s[0], s[1], s[2], s[5]) for s in settings])
    for (x, kernel, output_size, k, o, samples, case), result in zip(settings, forwards):
        out, _ = expect_tuple(result, 2, "fractional_max_pool_forward")
        expect_close(out, torch_fractional(x, k, o, samples), "fractional_max_pool_forward out", case,
                     rtol=RTOL, atol=ATOL)
        expect_close(out, ref.fractional_max_pool_forward(x, kernel, output_size, samples)[0],
                     "fractional_max_pool_forward out", case, rtol=RTOL, atol=ATOL)


@part("fractional_max_pool_forward", states=["Do not modify x or samples", NEW_ARRAY, PLAIN],
      shown=["modified x or samples", "check_plain_data", "must return a new array"])
def test_fractional_max_pool_forward_leaves_input_unchanged(student, rng):
    """fractional_max_pool_forward does not modify x or samples, returns a new out and a plain-data cache"""
    for _ in range(2):
        x, kernel, output_size, _, _, samples, _ = random_fractional(rng)
        res, after, seen = student.observe("fractional_max_pool_forward", x, kernel, output_size, samples)
        expect_tuple(res, 2, "fractional_max_pool_forward")
        expect_unchanged([x, kernel, output_size, samples], after, "fractional_max_pool_forward")
        expect_new(seen, "fractional_max_pool_forward", part=0)
    x = rng.normal(size=(2, 2, 4, 5))  # kernel 1 and every position a window: out has the values of x
    samples = rng.random((2, 2, 2))
    res, after, seen = student.observe("fractional_max_pool_forward", x, 1, (4, 5), samples)
    expect_unchanged([x, 1, (4, 5), samples], after, "fractional_max_pool_forward")
    expect_new(seen, "fractional_max_pool_forward", part=0)


def check_fractional_backward(student, settings, rng):
    """settings: [(x, kernel, output_size, k, o, samples, case)]. Every forward call in one request, then
    every backward call (each with its own cache and a random dout) in another."""
    caches, douts = [], []
    forwards = student.call_each("fractional_max_pool_forward", [(s[0], s[1], s[2], s[5]) for s in settings])
    for (x, _, _, _, o, _, _), result in zip(settings, forwards):
        out, cache = expect_tuple(result, 2, "fractional_max_pool_forward")
        out = expect_array(out, (x.shape[0], x.shape[1]) + tuple(o), "fractional_max_pool_forward out")
        caches.append(cache)
        douts.append(rng.normal(size=out.shape))
    backwards = student.observe_each("fractional_max_pool_backward", list(zip(douts, caches)))
    for (x, _, _, k, o, samples, case), dout, cache, (dx, after, seen) in zip(settings, douts, caches, backwards):
        _, want = torch_fractional(x, k, o, samples, dout)
        expect_unchanged([dout, cache], after, "fractional_max_pool_backward")
        expect_new(seen, "fractional_max_pool_backward")
        expect_close(dx, want, "fractional_max_pool_backward dx", case, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@part("fractional_max_pool_backward", states=["fractional_max_pool_backward(dout, cache)",
                                              "do not modify dout or the cache",
                                              "gradients within rtol 1e-11, atol 1e-13", NEW_ARRAY],
      shown=["Random maps against autograd", "modified dout"])
def test_fractional_max_pool_backward_matches_autograd(student, rng):
    """fractional_max_pool_backward(dout, cache) matches autograd of F.fractional_max_pool2d"""
    check_fractional_backward(student, fractional_settings(rng), rng)


@part("fractional_max_pool_backward", states=["accumulate with np.add.at"],
      shown=["a peak that wins 4 overlapping windows"])
def test_fractional_max_pool_backward_accumulates(student, rng):
    """an entry that wins several neighbouring windows gets the sum of their gradients"""
    h, w = int(rng.integers(8, 14)), int(rng.integers(8, 14))
    x = rng.normal(size=(2, 2, h, w))
    x[:, :, 1:h - 1:2, 1:w - 1:2] = 10.0 + rng.random(size=x[:, :, 1:h - 1:2, 1:w - 1:2].shape)  # peaks
    o = (h - 3, w - 3)  # kernel 2, ratio close to 1: most steps are 1, so neighbouring windows share rows
    check_fractional_backward(student, [(x, 2, o, (2, 2), o, rng.random((2, 2, 2)),
                                         "peaks that win several overlapping windows")], rng)


def first_max_fractional_grad(x, k, o, samples, dout):
    """dx with every window's whole gradient on its first maximum in row-major order (a loop over
    windows with torch's starts: the oracle of the tie rule)."""
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            rows = torch_starts(x.shape[2], o[0], k[0], float(samples[n, c, 1]))
            cols = torch_starts(x.shape[3], o[1], k[1], float(samples[n, c, 0]))
            for a, r in enumerate(rows):
                for b, q in enumerate(cols):
                    i, j = divmod(int(np.argmax(x[n, c, r:r + k[0], q:q + k[1]])), k[1])
                    dx[n, c, r + i, q + j] += dout[n, c, a, b]
    return dx


@part("fractional_max_pool_backward", states=["Ties: the first maximum in row-major window order"],
      shown=["dx with ties (first maximum wins)"])
def test_fractional_max_pool_backward_ties_go_to_the_first_maximum(student, rng):
    """with exact ties, each window's gradient goes to its first maximum in row-major order"""
    settings = []
    for k, case in [((2, 2), "exact ties, kernel 2"), ((3, 2), "exact ties, non-square kernel")]:
        h, w = int(rng.integers(k[0] + 3, 12)), int(rng.integers(k[1] + 3, 12))
        o = (max(1, min(h - k[0] + 1, int(h / 1.41))), max(1, min(w - k[1] + 1, int(w / 1.41))))
        x = rng.integers(0, 3, size=(2, 2, h, w)).astype(np.float64) * float(rng.choice([-1.0, 1.0]))
        x[0, 0] = 1.0  # one map entirely tied
        samples = rng.random((2, 2, 2))
        settings.append((x, k, o, samples, case, rng.normal(size=(2, 2) + o)))  # dout of the shape checked below
    # both forward calls in one request, then both backward calls with their own caches
    caches = []
    for (x, k, o, *_), result in zip(settings, student.call_each("fractional_max_pool_forward",
                                                                 [s[:4] for s in settings])):
        out, cache = expect_tuple(result, 2, "fractional_max_pool_forward")
        expect_array(out, (2, 2) + o, "fractional_max_pool_forward out")
        caches.append(cache)
    backwards = student.call_each("fractional_max_pool_backward", [(s[5], c) for s, c in zip(settings, caches)])
    for (x, k, o, samples, case, dout), dx in zip(settings, backwards):
        expect_close(dx, first_max_fractional_grad(x, k, o, samples, dout),
                     "fractional_max_pool_backward dx", case, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@part("fractional_max_pool_backward", states=[NO_GLOBALS], shown=["two forward passes before their backward passes"])
def test_fractional_max_pool_backward_uses_only_its_cache(student, rng):
    """two fractional-max-pooling forward passes with different settings, then their backward passes"""
    settings = [(rng.normal(size=(2, 3, 9, 8)), 2, (6, 5), (2, 2), (6, 5), rng.random((2, 3, 2))),
                (rng.normal(size=(1, 2, 11, 7)), (3, 2), 4, (3, 2), (4, 4), rng.random((1, 2, 2)))]
    caches, douts = [], []
    # both forward calls in one request, then both backward calls (the same order of calls in the kernel)
    forwards = student.call_each("fractional_max_pool_forward", [(s[0], s[1], s[2], s[5]) for s in settings])
    for (x, _, _, _, o, _), result in zip(settings, forwards):
        out, cache = expect_tuple(result, 2, "fractional_max_pool_forward")
        out = expect_array(out, x.shape[:2] + o, "fractional_max_pool_forward out")
        caches.append(cache)
        douts.append(rng.normal(size=out.shape))
    pairs = list(reversed(list(zip(settings, caches, douts))))
    backwards = student.call_each("fractional_max_pool_backward", [(d, c) for _, c, d in pairs])
    for ((x, _kernel, _o, k, o, samples), _, dout), dx in zip(pairs, backwards):
        _, want = torch_fractional(x, k, o, samples, dout)
        expect_close(dx, want, "fractional_max_pool_backward dx",
                     "two forward passes with different settings before their backward passes",
                     rtol=GRAD_RTOL, atol=GRAD_ATOL)
