"""Hidden checks of notebook 05, batch normalization.

Shapes, values, eps and momentum are drawn from `rng` at grade time. The oracles are torch's
F.batch_norm / F.layer_norm and autograd in float64, and the reference solution. Caches are the
student's own design: backward passes are only tested end to end, as backward(dout, forward(...)[1]).
Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import CheckFailure, expect_array, expect_close, expect_tuple, expect_unchanged, part
from grader.kernel import StudentRaised

# Tolerances (float64), entrywise |got - want| <= ATOL + RTOL * |want|.
RTOL, ATOL = 1e-9, 1e-11            # outputs: the same formula in a different order
RTOL_STAT, ATOL_STAT = 1e-11, 1e-12  # running statistics: a few multiply-adds
RTOL_GRAD = 1e-8                     # gradients; their absolute tolerance scales with the gradient's size
GRAD_ATOL_FACTOR = 1e-10             # ATOL of a gradient = this * max |expected| (sums of cancelling terms)


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


def bn_param(rng, d, mode="train"):
    return {"mode": mode, "eps": float(rng.choice([1e-5, 1e-3, 0.1, 1.0])),
            "momentum": float(rng.choice([0.1, 0.01, rng.uniform(0.05, 0.9)])),
            "running_mean": rng.normal(0, 2, size=d), "running_var": rng.uniform(0.2, 3.0, size=d)}


def torch_bn(x, gamma, beta, p, training):
    """Output and updated running statistics of F.batch_norm (which updates the buffers in place)."""
    rm, rv = t(p["running_mean"]), t(p["running_var"])
    out = F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=training,
                       momentum=p["momentum"], eps=p["eps"])
    return out.numpy(), rm.numpy(), rv.numpy()


def call_forward(student, x, gamma, beta, p):
    out, cache, new = expect_tuple(student.batchnorm_forward(x, gamma, beta, p), 3, "batchnorm_forward")
    if not isinstance(new, dict):
        raise CheckFailure(f"batchnorm_forward returned {type(new).__name__} as its third value; "
                           "expected the new bn_param dict")
    for key in ("running_mean", "running_var"):
        if key not in new:
            raise CheckFailure(f"the bn_param dict returned by batchnorm_forward has no {key!r}")
    return out, cache, new


def check_forward(student, x, gamma, beta, p, case, training=True):
    out, _, new = call_forward(student, x, gamma, beta, p)
    want_out, want_rm, want_rv = torch_bn(x, gamma, beta, p, training)
    expect_close(out, want_out, "batchnorm_forward out", case, rtol=RTOL, atol=ATOL)
    expect_close(new["running_mean"], want_rm, "new running_mean", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    expect_close(new["running_var"], want_rv, "new running_var", case, rtol=RTOL_STAT, atol=ATOL_STAT)
    return out, new


# -- batchnorm_forward ------------------------------------------------------------------------------
@part("batchnorm_forward")
def test_train_mode_matches_torch(student, ref, rng):
    """train mode: output and running statistics match F.batch_norm(training=True)"""
    for _ in range(6):
        x = batch(rng)
        gamma, beta = affine(rng, x.shape[1])
        p = bn_param(rng, x.shape[1])
        out, new = check_forward(student, x, gamma, beta, p, "train mode, random batch")
        ref_out = ref.batchnorm_forward(x, gamma, beta, p)[0]
        expect_close(out, ref_out, "batchnorm_forward out", "train mode, random batch", rtol=RTOL, atol=ATOL)


@part("batchnorm_forward")
def test_running_statistics_over_several_steps(student, rng):
    """running statistics after several training steps match torch's sequence, then eval mode uses them"""
    d = int(rng.integers(1, 10))
    gamma, beta = affine(rng, d)
    momentum = float(rng.uniform(0.05, 0.5))
    p = {"mode": "train", "eps": 1e-5, "momentum": momentum,
         "running_mean": np.zeros(d), "running_var": np.ones(d)}
    rm, rv = t(np.zeros(d)), t(np.ones(d))
    shift = rng.normal(0, 3, size=d)
    for step in range(int(rng.integers(3, 7))):
        x = batch(rng, d=d) + shift
        _, _, p = call_forward(student, x, gamma, beta, p)
        F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=True, momentum=momentum, eps=1e-5)
        expect_close(p["running_mean"], rm.numpy(), "running_mean", "after several training steps",
                     rtol=1e-10, atol=1e-12)
        expect_close(p["running_var"], rv.numpy(), "running_var", "after several training steps",
                     rtol=1e-10, atol=1e-12)
    p = dict(p, mode="eval")
    x = batch(rng, d=d) + shift
    out, _, new = call_forward(student, x, gamma, beta, p)
    want = F.batch_norm(t(x), rm, rv, t(gamma), t(beta), training=False, eps=1e-5).numpy()
    expect_close(out, want, "batchnorm_forward out", "eval mode after several training steps", rtol=RTOL, atol=ATOL)


@part("batchnorm_forward")
def test_eval_mode_uses_running_statistics(student, rng):
    """eval mode normalizes with the running statistics, keeps them, and accepts one example"""
    for n in (1, int(rng.integers(2, 30))):
        d = int(rng.integers(1, 10))
        x = batch(rng, n=n, d=d)
        gamma, beta = affine(rng, d)
        p = bn_param(rng, d, mode="eval")
        case = "eval mode, one example" if n == 1 else "eval mode, random batch"
        _, new = check_forward(student, x, gamma, beta, p, case, training=False)
        expect_close(new["running_mean"], p["running_mean"], "running_mean", case + " (must not change)",
                     rtol=0.0, atol=0.0)


@part("batchnorm_forward")
def test_edge_cases(student, rng):
    """train mode with two examples, a constant feature, a large offset, and the default parameters"""
    d = int(rng.integers(2, 8))
    gamma, beta = affine(rng, d)
    check_forward(student, batch(rng, n=2, d=d), gamma, beta, bn_param(rng, d), "a batch of two examples")
    x = batch(rng, d=d)
    x[:, 0] = float(rng.integers(-20, 20)) * 0.5  # exactly representable: variance exactly 0
    check_forward(student, x, gamma, beta, bn_param(rng, d), "a feature that is constant over the batch")
    x = rng.normal(size=(int(rng.integers(4, 30)), d)) + 1e3
    check_forward(student, x, gamma, beta, bn_param(rng, d), "features with a large offset (about 1e3)")
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


@part("batchnorm_forward")
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


@part("batchnorm_forward")
def test_forward_leaves_inputs_unchanged(student, rng):
    """batchnorm_forward modifies neither its arrays nor the arrays inside bn_param"""
    x = batch(rng)
    d = x.shape[1]
    gamma, beta = affine(rng, d)
    p = bn_param(rng, d)
    rm, rv = p["running_mean"].copy(), p["running_var"].copy()
    _, after = student.call_keeping_args("batchnorm_forward", x, gamma, beta, p)
    expect_unchanged([x, gamma, beta], after[:3], "batchnorm_forward")
    p_after = after[3]
    if not isinstance(p_after, dict) or not all(
            k in p_after and np.array_equal(np.asarray(p_after[k]), v) for k, v in
            (("running_mean", rm), ("running_var", rv))):
        raise CheckFailure("batchnorm_forward modified the running statistics inside bn_param in place; "
                           "return new arrays in a new dict")


# -- batchnorm backward (both versions) --------------------------------------------------------------
def torch_grads(x, gamma, beta, dout, eps):
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps).backward(t(dout))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def check_backward(student, fn, x, gamma, beta, dout, eps, case):
    p = {"mode": "train", "eps": eps, "momentum": 0.1,
         "running_mean": np.zeros(x.shape[1]), "running_var": np.ones(x.shape[1])}
    _, cache, _ = call_forward(student, x, gamma, beta, p)
    got = expect_tuple(getattr(student, fn)(dout, cache), 3, fn)
    for name, g, w in zip(("dx", "dgamma", "dbeta"), got, torch_grads(x, gamma, beta, dout, eps)):
        atol = GRAD_ATOL_FACTOR * max(1.0, float(np.max(np.abs(w))))
        expect_close(g, w, f"{fn} {name}", case, rtol=RTOL_GRAD, atol=atol)


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


def backward_pure(student, fn, rng):
    x = batch(rng)
    gamma, beta = affine(rng, x.shape[1])
    _, cache, _ = call_forward(student, x, gamma, beta, {"mode": "train"})
    dout = rng.normal(size=x.shape)
    _, after = student.call_keeping_args(fn, dout, cache)
    expect_unchanged([dout], after[:1], fn)


@part("batchnorm_backward")
def test_backward_graph_matches_autograd(student, rng):
    """batchnorm_backward(dout, cache) matches autograd of F.batch_norm, including edge cases"""
    backward_cases(student, "batchnorm_backward", rng)


@part("batchnorm_backward")
def test_backward_graph_leaves_dout_unchanged(student, rng):
    """batchnorm_backward does not modify dout"""
    backward_pure(student, "batchnorm_backward", rng)


@part("batchnorm_backward_alt")
def test_backward_alt_matches_autograd(student, rng):
    """batchnorm_backward_alt(dout, cache) matches autograd of F.batch_norm, including edge cases"""
    backward_cases(student, "batchnorm_backward_alt", rng)


@part("batchnorm_backward_alt")
def test_backward_alt_leaves_dout_unchanged(student, rng):
    """batchnorm_backward_alt does not modify dout"""
    backward_pure(student, "batchnorm_backward_alt", rng)


# -- layer norm ----------------------------------------------------------------------------------------
def check_layernorm(student, ref, x, gamma, beta, dout, eps, case, eps_given=True):
    param = {"eps": eps} if eps_given else {}
    out, cache = expect_tuple(student.layernorm_forward(x, gamma, beta, param), 2, "layernorm_forward")
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    y = F.layer_norm(xt, (x.shape[1],), gt, bt, eps)
    y.backward(t(dout))
    expect_close(out, y.detach().numpy(), "layernorm_forward out", case, rtol=RTOL, atol=ATOL)
    expect_close(out, ref.layernorm_forward(x, gamma, beta, param)[0], "layernorm_forward out", case,
                 rtol=RTOL, atol=ATOL)
    got = expect_tuple(student.layernorm_backward(dout, cache), 3, "layernorm_backward")
    for name, g, w in zip(("dx", "dgamma", "dbeta"), got, (xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy())):
        atol = GRAD_ATOL_FACTOR * max(1.0, float(np.max(np.abs(w))))
        expect_close(g, w, f"layernorm_backward {name}", case, rtol=RTOL_GRAD, atol=atol)


@part("layernorm")
def test_layernorm_matches_torch(student, ref, rng):
    """layernorm forward and backward match F.layer_norm and autograd on random batches"""
    for _ in range(6):
        n, d = int(rng.integers(1, 30)), int(rng.integers(2, 12))
        x = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-1, 1, size=(n, 1)) + rng.normal(0, 5, size=(n, 1))
        gamma, beta = affine(rng, d)
        eps = float(rng.choice([1e-5, 1e-3, 0.1, 1.0]))
        check_layernorm(student, ref, x, gamma, beta, rng.normal(size=(n, d)), eps, "random batch")


@part("layernorm")
def test_layernorm_edge_cases(student, ref, rng):
    """layernorm handles one example, one feature, a constant row and the default eps"""
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
    check_layernorm(student, ref, rng.normal(size=(n, d)) + 1e3, gamma, beta, rng.normal(size=(n, d)), 1e-5,
                    "rows with a large offset (about 1e3)")
    check_layernorm(student, ref, rng.normal(size=(n, d)), gamma, beta, rng.normal(size=(n, d)), 1e-5,
                    "no eps given (default 1e-5)", eps_given=False)


@part("layernorm")
def test_layernorm_rows_are_independent_and_inputs_unchanged(student, rng):
    """layernorm normalizes each row on its own and does not modify its inputs"""
    n, d = int(rng.integers(3, 20)), int(rng.integers(2, 10))
    x = rng.normal(size=(n, d)) * 3 + 1
    gamma, beta = affine(rng, d)
    res, after = student.call_keeping_args("layernorm_forward", x, gamma, beta, {"eps": 1e-5})
    out, _ = expect_tuple(res, 2, "layernorm_forward")
    expect_unchanged([x, gamma, beta], after[:3], "layernorm_forward")
    out = expect_array(out, (n, d), "layernorm_forward out")
    k = int(rng.integers(0, n))
    one, _ = expect_tuple(student.layernorm_forward(x[k:k + 1], gamma, beta, {"eps": 1e-5}), 2, "layernorm_forward")
    expect_close(one, out[k:k + 1], "layernorm_forward out", "one row alone vs inside a batch", rtol=1e-12, atol=1e-12)
