"""Hidden checks of notebook 05, batch normalization.

Shapes, values, eps and momentum are drawn from `rng` at grade time. The oracles are torch's
F.batch_norm / F.layer_norm and autograd in float64, and the reference solution. Caches are the
student's own design: backward passes are only tested end to end, as backward(dout, forward(...)[1]).
Messages name the case, never the inputs.

Numerical stability: the notebook requires the variance as the mean of squared deviations from the
mean (two passes, or Welford's update), and says why. On features whose mean is OFFSET_RATIO = 1e6
times their standard deviation a correct float64 implementation is off by about 1e-9 (measured:
two-pass 1.3e-9, Welford 1.7e-9 relative to |gamma| + 1), while the one-pass E[x^2] - E[x]^2 is off
by 6e-5 at best (or NaN): the tolerances of that case (RTOL_OFFSET, ATOL_OFFSET, stated in the
notebook) separate the two by four orders of magnitude on every seed.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import CheckFailure, expect_array, expect_close, expect_tuple, expect_unchanged, part, same_as_sent
from grader.kernel import StudentRaised

# Tolerances (float64), entrywise |got - want| <= ATOL + RTOL * |want|.
RTOL, ATOL = 1e-9, 1e-11            # outputs: the same formula in a different order
RTOL_STAT, ATOL_STAT = 1e-11, 1e-12  # running statistics: a few multiply-adds
RTOL_GRAD = 1e-8                     # gradients; their absolute tolerance scales with the gradient's size
GRAD_ATOL_FACTOR = 1e-10             # ATOL of a gradient = this * max |expected| (sums of cancelling terms)
OFFSET_RATIO = 1e6                   # large-offset cases: mean / standard deviation of a feature (or row)
RTOL_OFFSET = ATOL_OFFSET = 1e-7     # outputs and gradients there
RTOL_OFFSET_VAR = 1e-8               # the running variance there
CANCELLATION = ("the features of this case have a mean about 1e6 times their standard deviation: a one-pass "
                "variance E[x^2] - E[x]^2 loses its digits to cancellation there (or turns negative); compute "
                "the mean of the squared deviations from the mean (two passes) or use Welford's update")


def explain_cancellation(fn, *args, **kwargs):
    """Run a comparison; on failure, add the likely cause (cancellation in a one-pass variance)."""
    try:
        return fn(*args, **kwargs)
    except CheckFailure as err:
        raise CheckFailure(f"{err}. Likely cause: {CANCELLATION}") from None


def t(x, requires_grad=False):
    return torch.tensor(np.array(x, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def batch(rng, n=None, d=None):
    """A (N, D) batch whose columns have random offsets and scales."""
    n = int(rng.integers(2, 40)) if n is None else n
    d = int(rng.integers(1, 12)) if d is None else d
    scale = 10.0 ** rng.uniform(-1, 1, size=d)
    offset = rng.normal(0, 5, size=d)
    return rng.normal(size=(n, d)) * scale + offset


def affine(rng, d):
    return rng.normal(1.0, 0.7, size=d), rng.normal(0.0, 1.0, size=d)


def bn_param(rng, d, mode="train", default_free=False):
    """A bn_param with random eps, momentum and running statistics; default_free: eps and momentum
    both differ from their defaults (1e-5 and 0.1), so that ignoring either one shows."""
    eps = float(rng.choice([1e-3, 0.1, 1.0] if default_free else [1e-5, 1e-3, 0.1, 1.0]))
    momentum = float(rng.uniform(0.2, 0.9)) if default_free else float(rng.choice([0.1, 0.01, rng.uniform(0.05, 0.9)]))
    return {"mode": mode, "eps": eps, "momentum": momentum,
            "running_mean": rng.normal(0, 2, size=d), "running_var": rng.uniform(0.2, 3.0, size=d)}


def offset_batch(rng, n, d):
    """A (N, D) batch whose every feature has a mean OFFSET_RATIO times its standard deviation, exactly
    as stated (the noise is standardized: with a few samples a raw draw can have a far smaller spread,
    which would make even an exact float64 computation miss the tolerance)."""
    scale = 10.0 ** rng.uniform(-1, 1, size=d)
    z = rng.normal(size=(n, d))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    return (z + OFFSET_RATIO * rng.choice([-1.0, 1.0], size=d)) * scale


def torch_bn(x, gamma, beta, p, training):
    """Output and updated running statistics of F.batch_norm (which updates the buffers in place)."""
    rm, rv = t(p["running_mean"]), t(p["running_var"])
    out = F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=training,
                       momentum=p["momentum"], eps=p["eps"])
    return out.numpy(), rm.numpy(), rv.numpy()


def call_forward(student, x, gamma, beta, p, fn="batchnorm_forward"):
    out, cache, new = expect_tuple(getattr(student, fn)(x, gamma, beta, p), 3, fn)
    if not isinstance(new, dict):
        raise CheckFailure(f"{fn} returned {type(new).__name__} as its third value; "
                           "expected the new bn_param dict")
    for key in ("running_mean", "running_var"):
        if key not in new:
            raise CheckFailure(f"the bn_param dict returned by {fn} has no {key!r}")
    return out, cache, new


def check_forward(student, x, gamma, beta, p, case, training=True, offset=False, fn="batchnorm_forward"):
    """fn's output and new running statistics against torch (F.batch_norm takes (N, C) and (N, C, H, W))."""
    out, _, new = call_forward(student, x, gamma, beta, p, fn)
    want_out, want_rm, want_rv = torch_bn(x, gamma, beta, p, training)
    rtol, atol, rtol_var = (RTOL_OFFSET, ATOL_OFFSET, RTOL_OFFSET_VAR) if offset else (RTOL, ATOL, RTOL_STAT)
    prefix = "spatial " if fn.startswith("spatial") else ""
    expect_close(out, want_out, f"{fn} out", case, rtol=rtol, atol=atol)
    expect_close(new["running_mean"], want_rm, f"{prefix}new running_mean", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    expect_close(new["running_var"], want_rv, f"{prefix}new running_var", case, rtol=rtol_var, atol=ATOL_STAT)
    return out, new


# -- batchnorm_forward ------------------------------------------------------------------------------
@part("batchnorm_forward",
      states=["BIASED batch variance var (divide by N)", "weight of the NEW batch in the running averages",
              "running_var = (1 - momentum) * running_var + momentum * var * N / (N - 1)",
              "|got - want| <= 1e-11 + 1e-9 * |want|"],
      shown=["out vs F.batch_norm(training=True)", "running_var vs torch"])
def test_train_mode_matches_torch(student, ref, rng):
    """train mode: output and running statistics match F.batch_norm(training=True)"""
    for trial in range(6):
        x = batch(rng)
        gamma, beta = affine(rng, x.shape[1])
        p = bn_param(rng, x.shape[1], default_free=trial < 2)
        out, new = check_forward(student, x, gamma, beta, p, "train mode, random batch")
        ref_out = ref.batchnorm_forward(x, gamma, beta, p)[0]
        expect_close(out, ref_out, "batchnorm_forward out", "train mode, random batch", rtol=RTOL, atol=ATOL)


@part("batchnorm_forward",
      states=["the momentum may change from one call to the next", "The caller keeps new_bn_param for the next step"],
      shown=["momentum changes between calls"])
def test_running_statistics_over_several_steps(student, rng):
    """running statistics after several training steps, with a momentum that changes between steps,
    match torch's sequence; then eval mode uses them"""
    d = int(rng.integers(1, 10))
    gamma, beta = affine(rng, d)
    p = {"mode": "train", "eps": 1e-5, "momentum": 0.1, "running_mean": np.zeros(d), "running_var": np.ones(d)}
    rm, rv = t(np.zeros(d)), t(np.ones(d))
    shift = rng.normal(0, 3, size=d)
    momenta = [float(rng.uniform(0.02, 0.08)), float(rng.uniform(0.3, 0.9))]
    momenta += [float(rng.uniform(0.05, 0.9)) for _ in range(int(rng.integers(1, 4)))]
    for momentum in momenta:
        x = batch(rng, d=d) + shift
        p = dict(p, momentum=momentum)
        _, _, p = call_forward(student, x, gamma, beta, p)
        F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=True, momentum=momentum, eps=1e-5)
        case = "after several training steps whose momentum changes between calls"
        expect_close(p["running_mean"], rm.numpy(), "running_mean", case, rtol=1e-10, atol=1e-12)
        expect_close(p["running_var"], rv.numpy(), "running_var", case, rtol=1e-10, atol=1e-12)
    p = dict(p, mode="eval")
    x = batch(rng, d=d) + shift
    out, _, new = call_forward(student, x, gamma, beta, p)
    want = F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=False, eps=1e-5).numpy()
    expect_close(out, want, "batchnorm_forward out", "eval mode after several training steps", rtol=RTOL, atol=ATOL)


@part("batchnorm_forward",
      states=["In eval mode the running statistics are returned unchanged", "eval: the same with running_mean and running_var"],
      shown=["running_mean in eval mode", "running_var in eval mode", "eval-mode out of one example vs torch"])
def test_eval_mode_uses_running_statistics(student, rng):
    """eval mode normalizes with the running statistics (and the given eps), keeps them, and accepts one example"""
    for n in (1, int(rng.integers(2, 30))):
        d = int(rng.integers(1, 10))
        x = batch(rng, n=n, d=d)
        gamma, beta = affine(rng, d)
        p = bn_param(rng, d, mode="eval", default_free=True)
        case = "eval mode, one example" if n == 1 else "eval mode, random batch"
        _, new = check_forward(student, x, gamma, beta, p, case, training=False)
        for key in ("running_mean", "running_var"):
            expect_close(new[key], p[key], key, case + " (must not change)", rtol=0.0, atol=0.0)


@part("batchnorm_forward",
      states=["two passes", "cancellation", "up to 1e6 times their standard deviation", "within 1e-7"],
      shown=["features with a large offset"])
def test_edge_cases(student, rng):
    """train mode with two examples, a constant feature, a large offset, and the default parameters"""
    d = int(rng.integers(2, 8))
    gamma, beta = affine(rng, d)
    check_forward(student, batch(rng, n=2, d=d), gamma, beta, bn_param(rng, d), "a batch of two examples")
    x = batch(rng, d=d)
    x[:, 0] = float(rng.integers(-20, 20)) * 0.5  # exactly representable: variance exactly 0
    check_forward(student, x, gamma, beta, bn_param(rng, d), "a feature that is constant over the batch")
    x = offset_batch(rng, int(rng.integers(4, 30)), d)
    explain_cancellation(check_forward, student, x, gamma, beta, bn_param(rng, d),
                         "features with a large offset (mean 1e6 times the standard deviation)", offset=True)
    x = batch(rng, d=d)
    out, _, new = call_forward(student, x, gamma, beta, {"mode": "train"})
    full = {"mode": "train", "eps": 1e-5, "momentum": 0.1, "running_mean": np.zeros(d), "running_var": np.ones(d)}
    want_out, want_rm, want_rv = torch_bn(x, gamma, beta, full, True)
    case = "only the mode given (defaults eps 1e-5, momentum 0.1, running statistics 0 and 1)"
    expect_close(out, want_out, "batchnorm_forward out", case, rtol=RTOL, atol=ATOL)
    expect_close(new["running_mean"], want_rm, "new running_mean", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    expect_close(new["running_var"], want_rv, "new running_var", case, rtol=RTOL_STAT, atol=ATOL_STAT)


def expect_value_error(student, args, case, must_mention=None):
    try:
        student.batchnorm_forward(*args)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"batchnorm_forward, {case}: raised {err.type_name}; expected a ValueError")
        if must_mention is not None and must_mention not in err.message:
            raise CheckFailure(f"batchnorm_forward, {case}: the error message does not name the mode it was given")
        return
    raise CheckFailure(f"batchnorm_forward, {case}: returned normally; expected a ValueError")


@part("batchnorm_forward", states=["anything else: raise ValueError naming the mode", "needs N >= 2 (else ValueError)"],
      shown=["a misspelt mode", "a single example in training mode"])
def test_rejects_unknown_mode_and_single_example_training(student, rng):
    """an unknown mode and a training batch of one example raise ValueError"""
    d = int(rng.integers(1, 6))
    gamma, beta = affine(rng, d)
    x = batch(rng, d=d)
    for mode in ("test", "training", "Eval", "inference"):
        p = bn_param(rng, d, mode=mode)
        expect_value_error(student, (x, gamma, beta, p), "an unknown mode", must_mention=mode)
    expect_value_error(student, (batch(rng, n=1, d=d), gamma, beta, bn_param(rng, d)),
                       "a single example in train mode")


@part("batchnorm_forward", states=["do not modify x, gamma, beta, bn_param or the arrays inside it"],
      shown=["batchnorm_forward modified", "return a NEW dict"])
def test_forward_leaves_inputs_unchanged(student, rng):
    """batchnorm_forward modifies neither its arrays nor bn_param nor the arrays inside it, in either mode"""
    for mode in ("train", "eval"):
        x = batch(rng)
        d = x.shape[1]
        gamma, beta = affine(rng, d)
        p = bn_param(rng, d, mode=mode)
        _, after = student.call_keeping_args("batchnorm_forward", x, gamma, beta, p)
        expect_unchanged([x, gamma, beta], after[:3], "batchnorm_forward")
        if not same_as_sent(p, after[3]):
            raise CheckFailure(f"batchnorm_forward ({mode} mode) modified bn_param or the running statistics "
                               "inside it in place; return new arrays in a new dict")


# -- batchnorm backward (both versions) --------------------------------------------------------------
def torch_grads(x, gamma, beta, dout, eps):
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    # the sum of y * dout gives autograd exactly dout as y's gradient: the same gradients as
    # y.backward(t(dout)) bit for bit, without the shape check of a given gradient, which imports sympy
    # on its first use (about 0.4 s of CPU per grading process)
    y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    (y * t(dout)).sum().backward()
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def compare_grads(fn, got, want, case):
    got = expect_tuple(got, 3, fn)
    for name, g, w in zip(("dx", "dgamma", "dbeta"), got, want):
        atol = GRAD_ATOL_FACTOR * max(1.0, float(np.max(np.abs(w))))
        expect_close(g, w, f"{fn} {name}", case, rtol=RTOL_GRAD, atol=atol)


def check_backward(student, fn, x, gamma, beta, dout, eps, case):
    p = {"mode": "train", "eps": eps, "momentum": 0.1,
         "running_mean": np.zeros(x.shape[1]), "running_var": np.ones(x.shape[1])}
    _, cache, _ = call_forward(student, x, gamma, beta, p)
    compare_grads(fn, getattr(student, fn)(dout, cache), torch_grads(x, gamma, beta, dout, eps), case)


def backward_cases(student, fn, rng):
    for _ in range(5):
        x = batch(rng)
        gamma, beta = affine(rng, x.shape[1])
        dout = rng.normal(size=x.shape)
        eps = float(rng.choice([1e-5, 1e-3, 0.1, 1.0]))
        check_backward(student, fn, x, gamma, beta, dout, eps, "random batch vs autograd")
    d = int(rng.integers(2, 8))
    gamma, beta = affine(rng, d)
    x = batch(rng, n=2, d=d)
    check_backward(student, fn, x, gamma, beta, rng.normal(size=x.shape), 1e-5, "a batch of two examples")
    x = batch(rng, d=d)
    x[:, -1] = float(rng.integers(-20, 20)) * 0.25
    check_backward(student, fn, x, gamma, beta, rng.normal(size=x.shape), 1e-3, "a feature constant over the batch")
    x = batch(rng, n=int(rng.integers(100, 300)), d=d)
    check_backward(student, fn, x, gamma, beta, rng.normal(size=x.shape), 1e-5, "a large batch")


def two_forwards_then_backward(student, fn, rng):
    """Two training-mode forwards (different batches, sizes, eps and momentum) before the first
    backward: each backward uses only the cache it is given."""
    d = int(rng.integers(2, 8))
    calls = []
    for k in range(2):
        n = int(rng.integers(3, 12)) + 10 * k
        x = batch(rng, n=n, d=d)
        gamma, beta = affine(rng, d)
        eps = [1e-5, float(rng.choice([0.1, 1.0]))][k]
        p = dict(bn_param(rng, d, default_free=True), eps=eps)
        _, cache, _ = call_forward(student, x, gamma, beta, p)
        calls.append((x, gamma, beta, eps, cache))
    for k in (0, 1):
        x, gamma, beta, eps, cache = calls[k]
        dout = rng.normal(size=x.shape)
        compare_grads(fn, getattr(student, fn)(dout, cache), torch_grads(x, gamma, beta, dout, eps),
                      f"two forward calls before the first backward, backward of the {['first', 'second'][k]} "
                      "(use only the cache you are given, no state kept between calls)")


def backward_pure(student, fn, rng):
    x = batch(rng)
    gamma, beta = affine(rng, x.shape[1])
    _, cache, _ = call_forward(student, x, gamma, beta, {"mode": "train"})
    dout = rng.normal(size=x.shape)
    _, after = student.call_keeping_args(fn, dout, cache)
    expect_unchanged([dout], after[:1], fn)
    if not same_as_sent(cache, after[1]):
        raise CheckFailure(f"{fn} modified the cache it was given in place; work on copies")


@part("batchnorm_backward", states=["The batch statistics depend on x, so dx includes the paths through the mean and the variance"],
      shown=["dx vs autograd", "dx vs numerical gradient"])
def test_backward_graph_matches_autograd(student, rng):
    """batchnorm_backward(dout, cache) matches autograd of F.batch_norm, including edge cases"""
    backward_cases(student, "batchnorm_backward", rng)


@part("batchnorm_backward", states=["two forward calls before the first backward", "uses only the cache it is given"],
      shown=["two forward calls before the first backward"])
def test_backward_graph_after_two_forwards(student, rng):
    """batchnorm_backward uses only its cache: two forwards, then the backward of each"""
    two_forwards_then_backward(student, "batchnorm_backward", rng)


@part("batchnorm_backward", states=["Do not modify dout or the cache"],
      shown=["batchnorm_backward modified dout", "batchnorm_backward modified the cache"])
def test_backward_graph_leaves_dout_unchanged(student, rng):
    """batchnorm_backward modifies neither dout nor the cache"""
    backward_pure(student, "batchnorm_backward", rng)


@part("batchnorm_backward_alt", states=["dx = (r / N) * (N * g - sum_i g - x_hat * sum_i (g * x_hat))"],
      shown=["(alt) vs autograd"])
def test_backward_alt_matches_autograd(student, rng):
    """batchnorm_backward_alt(dout, cache) matches autograd of F.batch_norm, including edge cases"""
    backward_cases(student, "batchnorm_backward_alt", rng)


@part("batchnorm_backward_alt", states=["two forward calls before the first backward", "uses only the cache it is given"],
      shown=["two forward calls before the first backward"])
def test_backward_alt_after_two_forwards(student, rng):
    """batchnorm_backward_alt uses only its cache: two forwards, then the backward of each"""
    two_forwards_then_backward(student, "batchnorm_backward_alt", rng)


@part("batchnorm_backward_alt", states=["Do not modify dout or the cache"],
      shown=["batchnorm_backward_alt modified dout", "batchnorm_backward_alt modified the cache"])
def test_backward_alt_leaves_dout_unchanged(student, rng):
    """batchnorm_backward_alt modifies neither dout nor the cache"""
    backward_pure(student, "batchnorm_backward_alt", rng)


# -- layer norm ----------------------------------------------------------------------------------------
def check_layernorm(student, ref, x, gamma, beta, dout, eps, case, eps_given=True, offset=False):
    param = {"eps": eps} if eps_given else {}
    out, cache = expect_tuple(student.layernorm_forward(x, gamma, beta, param), 2, "layernorm_forward")
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    y = F.layer_norm(xt, (x.shape[1],), gt, bt, eps)
    (y * t(dout)).sum().backward()  # as y.backward(t(dout)), bit for bit (see torch_grads)
    rtol, atol = (RTOL_OFFSET, ATOL_OFFSET) if offset else (RTOL, ATOL)
    expect_close(out, y.detach().numpy(), "layernorm_forward out", case, rtol=rtol, atol=atol)
    expect_close(out, ref.layernorm_forward(x, gamma, beta, param)[0], "layernorm_forward out", case,
                 rtol=rtol, atol=atol)
    got = expect_tuple(student.layernorm_backward(dout, cache), 3, "layernorm_backward")
    for name, g, w in zip(("dx", "dgamma", "dbeta"), got, (xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy())):
        scale = max(1.0, float(np.max(np.abs(w))))
        rtol, atol = (RTOL_OFFSET, ATOL_OFFSET * scale) if offset else (RTOL_GRAD, GRAD_ATOL_FACTOR * scale)
        expect_close(g, w, f"layernorm_backward {name}", case, rtol=rtol, atol=atol)
    return cache


@part("layernorm", states=["normalize each example (row) over its D features", "The variance is biased (divide by D)"],
      shown=["layernorm out vs torch", "layernorm dx vs torch"])
def test_layernorm_matches_torch(student, ref, rng):
    """layernorm forward and backward match F.layer_norm and autograd on random batches"""
    for trial in range(6):
        n, d = int(rng.integers(1, 30)), int(rng.integers(2, 12))
        x = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-1, 1, size=(n, 1)) + rng.normal(0, 5, size=(n, 1))
        gamma, beta = affine(rng, d)
        eps = float(rng.choice([1e-3, 0.1, 1.0] if trial == 0 else [1e-5, 1e-3, 0.1, 1.0]))
        check_layernorm(student, ref, x, gamma, beta, rng.normal(size=(n, d)), eps, "random batch")


@part("layernorm", states=["Any N >= 1", "(default 1e-5, inside the square root)", "two passes", "within 1e-7"],
      shown=["N = 1", "D = 1", "layernorm with default eps", "rows with a large offset"])
def test_layernorm_edge_cases(student, ref, rng):
    """layernorm handles one example, one feature, a constant row, rows with a large offset and the default eps"""
    d = int(rng.integers(2, 10))
    gamma, beta = affine(rng, d)
    x1 = rng.normal(0, 3, size=(1, d))
    check_layernorm(student, ref, x1, gamma, beta, rng.normal(size=(1, d)), 1e-5, "a single example (N = 1)")
    n = int(rng.integers(2, 10))
    g1, b1 = affine(rng, 1)
    check_layernorm(student, ref, rng.normal(size=(n, 1)), g1, b1, rng.normal(size=(n, 1)), 1e-5,
                    "a single feature (D = 1)")
    x = rng.normal(size=(n, d))
    x[0] = float(rng.integers(-20, 20)) * 0.5
    check_layernorm(student, ref, x, gamma, beta, rng.normal(size=(n, d)), 1e-3, "a constant row")
    x = offset_batch(rng, d, n).T  # every row: mean 1e6 times its standard deviation
    explain_cancellation(check_layernorm, student, ref, x, gamma, beta, rng.normal(size=(n, d)), 1e-5,
                         "rows with a large offset (mean 1e6 times the standard deviation)", offset=True)
    check_layernorm(student, ref, rng.normal(size=(n, d)), gamma, beta, rng.normal(size=(n, d)), 1e-5,
                    "no eps given (default 1e-5)", eps_given=False)


@part("layernorm", states=["two forward calls before the first backward", "uses only the cache it is given"],
      shown=["two forward calls before the first backward"])
def test_layernorm_two_forwards_then_backward(student, ref, rng):
    """layernorm_backward uses only its cache: two forwards, then the backward of each"""
    d = int(rng.integers(2, 10))
    calls = []
    for k in range(2):
        n = int(rng.integers(2, 10)) + 10 * k
        x = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-1, 1, size=(n, 1)) + rng.normal(0, 5, size=(n, 1))
        gamma, beta = affine(rng, d)
        eps = [1e-5, float(rng.choice([0.1, 1.0]))][k]
        out, cache = expect_tuple(student.layernorm_forward(x, gamma, beta, {"eps": eps}), 2, "layernorm_forward")
        calls.append((x, gamma, beta, eps, cache))
    for k in (0, 1):
        x, gamma, beta, eps, cache = calls[k]
        dout = rng.normal(size=x.shape)
        xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
        (F.layer_norm(xt, (d,), gt, bt, eps) * t(dout)).sum().backward()  # as .backward(t(dout)) (see torch_grads)
        got = expect_tuple(student.layernorm_backward(dout, cache), 3, "layernorm_backward")
        case = (f"two forward calls before the first backward, backward of the {['first', 'second'][k]} "
                "(use only the cache you are given, no state kept between calls)")
        for name, g, w in zip(("dx", "dgamma", "dbeta"), got, (xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy())):
            expect_close(g, w, f"layernorm_backward {name}", case, rtol=RTOL_GRAD,
                         atol=GRAD_ATOL_FACTOR * max(1.0, float(np.max(np.abs(w)))))


@part("layernorm", states=["each row's output depends only on that row", "Do not modify the inputs"],
      shown=["row 0 alone vs inside the batch", "layernorm modified"])
def test_layernorm_rows_are_independent_and_inputs_unchanged(student, rng):
    """layernorm normalizes each row on its own and modifies none of its inputs (forward and backward)"""
    n, d = int(rng.integers(3, 20)), int(rng.integers(2, 10))
    x = rng.normal(size=(n, d)) * 3 + 1
    gamma, beta = affine(rng, d)
    p = {"eps": 1e-5}
    res, after = student.call_keeping_args("layernorm_forward", x, gamma, beta, p)
    out, cache = expect_tuple(res, 2, "layernorm_forward")
    expect_unchanged([x, gamma, beta], after[:3], "layernorm_forward")
    if not same_as_sent(p, after[3]):
        raise CheckFailure("layernorm_forward modified ln_param in place")
    out = expect_array(out, (n, d), "layernorm_forward out")
    k = int(rng.integers(0, n))
    one, _ = expect_tuple(student.layernorm_forward(x[k:k + 1], gamma, beta, {"eps": 1e-5}), 2, "layernorm_forward")
    expect_close(one, out[k:k + 1], "layernorm_forward out", "one row alone vs inside a batch", rtol=1e-12, atol=1e-12)
    dout = rng.normal(size=(n, d))
    _, after = student.call_keeping_args("layernorm_backward", dout, cache)
    expect_unchanged([dout], after[:1], "layernorm_backward")
    if not same_as_sent(cache, after[1]):
        raise CheckFailure("layernorm_backward modified the cache it was given in place; work on copies")


# -- spatial batch norm ------------------------------------------------------------------------------
def maps(rng, n=None, c=None, h=None, w=None):
    """A (N, C, H, W) batch of feature maps whose channels have random offsets and scales; at least
    two positions per map unless h and w are given."""
    n = int(rng.integers(1, 6)) if n is None else n
    c = int(rng.integers(2, 6)) if c is None else c
    h = int(rng.integers(1, 5)) if h is None else h
    w = int(rng.integers(2, 5)) if w is None else w
    scale = 10.0 ** rng.uniform(-1, 1, size=(1, c, 1, 1))
    offset = rng.normal(0, 5, size=(1, c, 1, 1))
    return rng.normal(size=(n, c, h, w)) * scale + offset


def call_spatial_forward(student, x, gamma, beta, p):
    return call_forward(student, x, gamma, beta, p, fn="spatial_batchnorm_forward")


def check_spatial_forward(student, x, gamma, beta, p, case, training=True, offset=False):
    return check_forward(student, x, gamma, beta, p, case, training, offset, fn="spatial_batchnorm_forward")


@part("spatial_batchnorm_forward",
      states=["one mean and one variance per channel, over the batch and all positions",
              "running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1),  M = N * H * W",
              "|got - want| <= 1e-11 + 1e-9 * |want|"],
      shown=["spatial out vs F.batch_norm on (N, C, H, W), training", "spatial running_var vs torch"])
def test_spatial_train_mode_matches_torch(student, ref, rng):
    """train mode: output and running statistics match F.batch_norm on the 4-D input"""
    for trial in range(5):
        x = maps(rng)
        gamma, beta = affine(rng, x.shape[1])
        p = bn_param(rng, x.shape[1], default_free=trial < 2)
        out, _ = check_spatial_forward(student, x, gamma, beta, p, "train mode, random feature maps")
        ref_out = ref.spatial_batchnorm_forward(x, gamma, beta, p)[0]
        expect_close(out, ref_out, "spatial_batchnorm_forward out", "train mode, random feature maps",
                     rtol=RTOL, atol=ATOL)


@part("spatial_batchnorm_forward",
      states=["eval: the same with running_mean and running_var", "The same rules as batchnorm_forward"],
      shown=["spatial eval-mode out vs torch", "spatial running_var in eval mode"])
def test_spatial_eval_mode(student, rng):
    """eval mode normalizes each channel with the running statistics and keeps them"""
    for n in (1, int(rng.integers(2, 6))):
        x = maps(rng, n=n)
        gamma, beta = affine(rng, x.shape[1])
        p = bn_param(rng, x.shape[1], mode="eval", default_free=True)
        case = "eval mode, one example" if n == 1 else "eval mode, random feature maps"
        _, new = check_spatial_forward(student, x, gamma, beta, p, case, training=False)
        for key in ("running_mean", "running_var"):
            expect_close(new[key], p[key], "spatial " + key, case + " (must not change)", rtol=0.0, atol=0.0)


def expect_spatial_value_error(student, args, case):
    try:
        student.spatial_batchnorm_forward(*args)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"spatial_batchnorm_forward, {case}: raised {err.type_name}; expected a ValueError")
        return
    raise CheckFailure(f"spatial_batchnorm_forward, {case}: returned normally; expected a ValueError")


@part("spatial_batchnorm_forward",
      states=["a single example is fine in training mode when its maps have two or more positions",
              "only $N = H = W = 1$ raises the ValueError", "within 1e-7",
              "up to 1e6 times their standard deviation"],
      shown=["one example (N = 1, H * W = 6)", "channels with a large offset"])
def test_spatial_edge_cases(student, rng):
    """one example with several positions, 1 x 1 maps, a constant channel, a large offset, the
    defaults, and M = 1 raising"""
    c = int(rng.integers(2, 6))
    gamma, beta = affine(rng, c)
    check_spatial_forward(student, maps(rng, n=1, c=c, h=int(rng.integers(1, 4)), w=int(rng.integers(2, 4))),
                          gamma, beta, bn_param(rng, c), "one example with several positions per map (N = 1)")
    check_spatial_forward(student, maps(rng, n=int(rng.integers(2, 12)), c=c, h=1, w=1), gamma, beta,
                          bn_param(rng, c), "1 x 1 maps (H = W = 1)")
    x = maps(rng, c=c)
    x[:, 0] = float(rng.integers(-20, 20)) * 0.5
    check_spatial_forward(student, x, gamma, beta, bn_param(rng, c), "a channel that is constant over the batch")
    n, h, w = int(rng.integers(1, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    x = offset_batch(rng, n * h * w, c).reshape(n, h, w, c).transpose(0, 3, 1, 2).copy()
    explain_cancellation(check_spatial_forward, student, x, gamma, beta, bn_param(rng, c),
                         "channels with a large offset (mean 1e6 times the standard deviation)", offset=True)
    x = maps(rng, c=c)
    full = {"mode": "train", "eps": 1e-5, "momentum": 0.1, "running_mean": np.zeros(c), "running_var": np.ones(c)}
    out, _, new = call_spatial_forward(student, x, gamma, beta, {"mode": "train"})
    want_out, want_rm, want_rv = torch_bn(x, gamma, beta, full, True)
    case = "only the mode given (defaults eps 1e-5, momentum 0.1, running statistics 0 and 1)"
    expect_close(out, want_out, "spatial_batchnorm_forward out", case, rtol=RTOL, atol=ATOL)
    expect_close(new["running_mean"], want_rm, "spatial new running_mean", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    expect_close(new["running_var"], want_rv, "spatial new running_var", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    expect_spatial_value_error(student, (maps(rng, n=1, c=c, h=1, w=1), gamma, beta, bn_param(rng, c)),
                               "train mode with a single value per channel (N = H = W = 1)")
    expect_spatial_value_error(student, (maps(rng, c=c), gamma, beta, bn_param(rng, c, mode="test")),
                               "an unknown mode")


@part("spatial_batchnorm_forward", states=["do not modify x, gamma, beta, bn_param or the arrays inside it"],
      shown=["spatial_batchnorm_forward modified"])
def test_spatial_forward_leaves_inputs_unchanged(student, rng):
    """spatial_batchnorm_forward modifies neither its arrays nor bn_param, in either mode"""
    for mode in ("train", "eval"):
        x = maps(rng)
        gamma, beta = affine(rng, x.shape[1])
        p = bn_param(rng, x.shape[1], mode=mode)
        _, after = student.call_keeping_args("spatial_batchnorm_forward", x, gamma, beta, p)
        expect_unchanged([x, gamma, beta], after[:3], "spatial_batchnorm_forward")
        if not same_as_sent(p, after[3]):
            raise CheckFailure(f"spatial_batchnorm_forward ({mode} mode) modified bn_param or the running "
                               "statistics inside it in place; return new arrays in a new dict")


def check_spatial_backward(student, x, gamma, beta, dout, eps, case):
    p = {"mode": "train", "eps": eps, "momentum": 0.1,
         "running_mean": np.zeros(x.shape[1]), "running_var": np.ones(x.shape[1])}
    _, cache, _ = call_spatial_forward(student, x, gamma, beta, p)
    compare_grads("spatial_batchnorm_backward", student.spatial_batchnorm_backward(dout, cache),
                  torch_grads(x, gamma, beta, dout, eps), case)


@part("spatial_batchnorm_backward",
      states=["dgamma and dbeta sum over N, H and W", "dx includes the paths through the channel mean and variance",
              "within a relative 1e-8 (plus 1e-10 times the largest entry of the expected gradient)"],
      shown=["spatial dx vs autograd"])
def test_spatial_backward_matches_autograd(student, rng):
    """spatial_batchnorm_backward(dout, cache) matches autograd of F.batch_norm on 4-D input"""
    for _ in range(4):
        x = maps(rng)
        gamma, beta = affine(rng, x.shape[1])
        eps = float(rng.choice([1e-5, 1e-3, 0.1, 1.0]))
        check_spatial_backward(student, x, gamma, beta, rng.normal(size=x.shape), eps, "random feature maps vs autograd")
    c = int(rng.integers(2, 6))
    gamma, beta = affine(rng, c)
    x = maps(rng, n=1, c=c, h=int(rng.integers(2, 4)))
    check_spatial_backward(student, x, gamma, beta, rng.normal(size=x.shape), 1e-5, "one example (N = 1)")
    x = maps(rng, n=int(rng.integers(2, 10)), c=c, h=1, w=1)
    check_spatial_backward(student, x, gamma, beta, rng.normal(size=x.shape), 1e-5, "1 x 1 maps (H = W = 1)")
    x = maps(rng, n=int(rng.integers(8, 20)), c=c, h=int(rng.integers(4, 8)), w=int(rng.integers(4, 8)))
    check_spatial_backward(student, x, gamma, beta, rng.normal(size=x.shape), 1e-5, "larger feature maps")


@part("spatial_batchnorm_backward", states=["two forward calls before the first backward", "uses only the cache it is given"],
      shown=["two forward calls before the first backward"])
def test_spatial_backward_after_two_forwards(student, rng):
    """spatial_batchnorm_backward uses only its cache: two forwards, then the backward of each"""
    c = int(rng.integers(2, 6))
    calls = []
    for k in range(2):
        x = maps(rng, n=int(rng.integers(1, 4)) + 3 * k, c=c)
        gamma, beta = affine(rng, c)
        eps = [1e-5, float(rng.choice([0.1, 1.0]))][k]
        p = dict(bn_param(rng, c, default_free=True), eps=eps)
        _, cache, _ = call_spatial_forward(student, x, gamma, beta, p)
        calls.append((x, gamma, beta, eps, cache))
    for k in (0, 1):
        x, gamma, beta, eps, cache = calls[k]
        dout = rng.normal(size=x.shape)
        compare_grads("spatial_batchnorm_backward", student.spatial_batchnorm_backward(dout, cache),
                      torch_grads(x, gamma, beta, dout, eps),
                      f"two forward calls before the first backward, backward of the {['first', 'second'][k]} "
                      "(use only the cache you are given, no state kept between calls)")


@part("spatial_batchnorm_backward", states=["Do not modify dout or the cache"],
      shown=["spatial_batchnorm_backward modified dout", "spatial_batchnorm_backward modified the cache"])
def test_spatial_backward_leaves_inputs_unchanged(student, rng):
    """spatial_batchnorm_backward modifies neither dout nor the cache"""
    x = maps(rng)
    gamma, beta = affine(rng, x.shape[1])
    _, cache, _ = call_spatial_forward(student, x, gamma, beta, {"mode": "train"})
    dout = rng.normal(size=x.shape)
    _, after = student.call_keeping_args("spatial_batchnorm_backward", dout, cache)
    expect_unchanged([dout], after[:1], "spatial_batchnorm_backward")
    if not same_as_sent(cache, after[1]):
        raise CheckFailure("spatial_batchnorm_backward modified the cache it was given in place; work on copies")
