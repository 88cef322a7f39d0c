"""Hidden checks of notebook 09, pooling.

Shapes, kernels, strides and paddings are drawn from `rng` at grade time (padding <= kernel // 2,
as torch requires). Inputs are continuous random values, so ties do not decide any result. Oracles:
torch's F.max_pool2d / F.avg_pool2d (count_include_pad=True) / F.adaptive_avg_pool2d and autograd
in float64, a direct loop over windows, and the reference solution. Caches are the student's own
design: backward passes are only tested end to end, as backward(dout, forward(...)[1]).
Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import CheckFailure, expect_array, expect_close, expect_tuple, expect_unchanged, part

RTOL, ATOL = 1e-12, 1e-14  # pooling is a max or a short sum: float64 agrees almost exactly


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
    x = rng.normal(size=(n, c, h, w)) * float(rng.choice([0.1, 1.0, 100.0]))
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


def torch_pool(x, sizes, kind, dout=None):
    k, s, p = sizes
    xt = t(x, requires_grad=dout is not None)
    if kind == "max":
        y = F.max_pool2d(xt, k, s, p)
    else:
        y = F.avg_pool2d(xt, k, s, p, count_include_pad=True)
    if dout is None:
        return y.detach().numpy()
    y.backward(t(dout))
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


@part("pool_windows")
def test_pool_output_size(student, rng):
    """pool_output_size follows floor((size + 2 pad - kernel) / stride) + 1"""
    for _ in range(20):
        k, s = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        p = int(rng.integers(0, k // 2 + 1))
        size = int(rng.integers(max(1, k - 2 * p), 60))
        got = student.pool_output_size(size, k, s, p)
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            raise CheckFailure(f"pool_output_size returned {type(got).__name__}; expected an int")
        if int(got) != (size + 2 * p - k) // s + 1:
            raise CheckFailure("pool_output_size is wrong for a random size, kernel, stride and padding "
                               "(remember the floor: a last window that does not fit is dropped)")


@part("pool_windows")
def test_pool_windows_match_a_loop(student, rng):
    """pool_windows returns every window of the padded input, for random and edge-case settings"""
    settings = [random_setting(rng) for _ in range(6)] + list(edge_settings(rng))
    for i, (x, _param, (k, s, p), case) in enumerate(settings):
        # every pad value in turn; the two padded edge settings get -inf and 7.5, never only 0
        pad_value = (-np.inf, 7.5, 0.0)[i % 3]
        want = loop_windows(x, k, s, p, pad_value)
        got, after = student.call_keeping_args("pool_windows", x, k, s, p, pad_value)
        expect_unchanged([x], after[:1], "pool_windows")
        expect_close(got, want, "pool_windows", case, rtol=0.0, atol=0.0)


# -- max pooling -------------------------------------------------------------------------------------
def all_settings(rng, n_random=6):
    return [random_setting(rng) for _ in range(n_random)] + list(edge_settings(rng))


@part("max_pool_forward")
def test_max_pool_forward_matches_torch(student, ref, rng):
    """max_pool_forward matches F.max_pool2d for random and edge-case settings"""
    for x, param, sizes, case in all_settings(rng):
        out, _ = expect_tuple(student.max_pool_forward(x, param), 2, "max_pool_forward")
        expect_close(out, torch_pool(x, sizes, "max"), "max_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.max_pool_forward(x, param)[0], "max_pool_forward out", case, rtol=RTOL, atol=ATOL)


@part("max_pool_forward")
def test_max_pool_pads_with_minus_infinity(student, rng):
    """max_pool_forward pads with -inf: all-negative maps keep negative maxima at the border"""
    for _ in range(3):
        k = int(rng.integers(2, 5))
        p = int(rng.integers(1, k // 2 + 1))
        x = -rng.uniform(1.0, 5.0, size=(int(rng.integers(1, 3)), 2, int(rng.integers(k, 10)), int(rng.integers(k, 10))))
        param = {"kernel": k, "stride": int(rng.integers(1, 3)), "pad": p}
        sizes = ((k, k), (param["stride"],) * 2, (p, p))
        out, _ = expect_tuple(student.max_pool_forward(x, param), 2, "max_pool_forward")
        expect_close(out, torch_pool(x, sizes, "max"), "max_pool_forward out", "an all-negative map with padding",
                     rtol=RTOL, atol=ATOL)


@part("max_pool_forward")
def test_max_pool_forward_leaves_input_unchanged(student, rng):
    """max_pool_forward does not modify x"""
    x, param, _, _ = random_setting(rng)
    _, after = student.call_keeping_args("max_pool_forward", x, param)
    expect_unchanged([x], after[:1], "max_pool_forward")


def check_backward(student, kind, x, param, sizes, case, rng):
    fwd, bwd = f"{kind}_pool_forward", f"{kind}_pool_backward"
    out, cache = expect_tuple(getattr(student, fwd)(x, param), 2, fwd)
    out = expect_array(out, torch_pool(x, sizes, kind).shape, f"{fwd} out")
    dout = rng.normal(size=out.shape)
    _, want = torch_pool(x, sizes, kind, dout)
    dx, after = student.call_keeping_args(bwd, dout, cache)
    expect_unchanged([dout], after[:1], bwd)
    expect_close(dx, want, f"{bwd} dx", case, rtol=1e-11, atol=1e-13)


@part("max_pool_backward")
def test_max_pool_backward_matches_autograd(student, rng):
    """max_pool_backward(dout, cache) matches autograd of F.max_pool2d, overlapping windows included"""
    for x, param, sizes, case in all_settings(rng):
        check_backward(student, "max", x, param, sizes, case, rng)


@part("max_pool_backward")
def test_max_pool_backward_accumulates_over_windows(student, rng):
    """max_pool_backward sums the gradients of all the windows an entry wins"""
    n, c, h, w = 2, 2, int(rng.integers(5, 10)), int(rng.integers(5, 10))
    x = rng.normal(size=(n, c, h, w))
    x[:, :, h // 2, w // 2] = 10.0 + rng.random(size=(n, c))  # a peak that wins up to 9 windows
    param = {"kernel": 3, "stride": 1, "pad": 1}
    check_backward(student, "max", x, param, ((3, 3), (1, 1), (1, 1)), "one large entry that wins many overlapping windows", rng)


# -- average pooling ----------------------------------------------------------------------------------
@part("avg_pool_forward")
def test_avg_pool_forward_matches_torch(student, ref, rng):
    """avg_pool_forward matches F.avg_pool2d(count_include_pad=True) for random and edge-case settings"""
    for x, param, sizes, case in all_settings(rng):
        out, _ = expect_tuple(student.avg_pool_forward(x, param), 2, "avg_pool_forward")
        expect_close(out, torch_pool(x, sizes, "avg"), "avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.avg_pool_forward(x, param)[0], "avg_pool_forward out", case, rtol=RTOL, atol=ATOL)


@part("avg_pool_forward")
def test_avg_pool_counts_the_padding(student, rng):
    """avg_pool_forward divides by the full window, padding included, and leaves x unchanged"""
    k = int(rng.integers(2, 5))
    p = int(rng.integers(1, k // 2 + 1))
    x = rng.uniform(1.0, 2.0, size=(1, 2, int(rng.integers(k, 9)), int(rng.integers(k, 9))))
    param = {"kernel": k, "stride": 1, "pad": p}
    out, after = student.call_keeping_args("avg_pool_forward", x, param)
    expect_unchanged([x], after[:1], "avg_pool_forward")
    out, _ = expect_tuple(out, 2, "avg_pool_forward")
    expect_close(out, torch_pool(x, ((k, k), (1, 1), (p, p)), "avg"), "avg_pool_forward out",
                 "border windows that cover padding (count_include_pad=True)", rtol=RTOL, atol=ATOL)


@part("avg_pool_backward")
def test_avg_pool_backward_matches_autograd(student, rng):
    """avg_pool_backward(dout, cache) matches autograd of F.avg_pool2d, overlapping windows included"""
    for x, param, sizes, case in all_settings(rng):
        check_backward(student, "avg", x, param, sizes, case, rng)


# -- global average pooling ------------------------------------------------------------------------------
@part("global_avg_pool")
def test_global_avg_pool_matches_torch(student, ref, rng):
    """global average pooling forward and backward match F.adaptive_avg_pool2d(x, 1) and autograd"""
    shapes = [(int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 12)), int(rng.integers(1, 12)))
              for _ in range(5)] + [(1, 1, 1, 1), (2, 3, 1, 7)]
    for shape in shapes:
        x = rng.normal(size=shape) * 10 + 3
        case = "a 1x1 map" if shape[2:] == (1, 1) else "random shape"
        res, after = student.call_keeping_args("global_avg_pool_forward", x)
        out, cache = expect_tuple(res, 2, "global_avg_pool_forward")
        expect_unchanged([x], after, "global_avg_pool_forward")
        xt = t(x, True)
        y = F.adaptive_avg_pool2d(xt, 1)
        dout = rng.normal(size=y.shape)
        y.backward(t(dout))
        expect_close(out, y.detach().numpy(), "global_avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        expect_close(out, ref.global_avg_pool_forward(x)[0], "global_avg_pool_forward out", case, rtol=RTOL, atol=ATOL)
        dx = student.global_avg_pool_backward(dout, cache)
        expect_close(dx, xt.grad.numpy(), "global_avg_pool_backward dx", case, rtol=RTOL, atol=ATOL)
