"""Correct implementations of notebook 07's graded functions, written differently from the reference.

Each is appended to its part's solution cell (redefining the function there) and must earn full marks
under every seed: another order of operations, loops instead of closed forms, other stable formulas,
numpy scalars instead of Python floats, in-place updates of the function's own copies, the other
reading of the power-iteration Rayleigh quotient that the notebook allows.
"""

ALTERNATIVES = {
    "lr_schedule": {
        "math module, cosine as a squared cosine": '''
import math
def lr_at(schedule, step):
    kind = schedule["name"]
    eta0 = schedule["base_lr"]
    if kind == "step":
        return eta0 * math.pow(schedule["gamma"], step // schedule["step_size"])
    if kind == "exponential":
        return eta0 * math.pow(schedule["gamma"], step)
    if kind == "cosine":
        floor = schedule["eta_min"] if "eta_min" in schedule else 0.0
        return floor + (eta0 - floor) * math.cos(math.pi * step / (2 * schedule["t_max"])) ** 2
    raise ValueError("lr_at: no schedule called " + repr(kind))
''',
        "repeated multiplication and exp(t log gamma), numpy scalars": '''
def lr_at(schedule, step):
    kind = schedule.get("name")
    base = np.float64(schedule["base_lr"])
    if kind == "step":
        lr = base
        for _ in range(step // schedule["step_size"]):
            lr = lr * schedule["gamma"]
        return lr
    if kind == "exponential":
        return base * np.exp(step * np.log(np.float64(schedule["gamma"])))
    if kind == "cosine":
        lo = np.float64(schedule.get("eta_min", 0.0))
        return lo + 0.5 * (base - lo) * (1.0 + np.cos(step * np.pi / schedule["t_max"]))
    raise ValueError(f"{kind} is not a known schedule")
''',
        "dispatch table of closed forms": '''
def lr_at(schedule, step):
    forms = {
        "step": lambda s: s["base_lr"] * s["gamma"] ** int(step / s["step_size"]),
        "exponential": lambda s: s["base_lr"] * s["gamma"] ** step,
        "cosine": lambda s: s.get("eta_min", 0.0) * (1 - (1 + np.cos(np.pi * step / s["t_max"])) / 2)
                            + s["base_lr"] * (1 + np.cos(np.pi * step / s["t_max"])) / 2,
    }
    if schedule["name"] not in forms:
        raise ValueError("unknown schedule: %s" % schedule["name"])
    return float(forms[schedule["name"]](schedule))
''',
    },
    "warmup": {
        "np.interp for the ramp": '''
def warmup_lr_at(schedule, step):
    base = schedule["base_lr"]
    W = schedule["warmup_steps"]
    if step < W:
        return float(np.interp(step, [0, W], [schedule["start_factor"] * base, base]))
    return lr_at({**schedule["after"], "base_lr": base}, step - W)
''',
        "deep copy of 'after', updated in place": '''
import copy
def warmup_lr_at(schedule, step):
    W, f0 = schedule["warmup_steps"], schedule["start_factor"]
    if step >= W:
        after = copy.deepcopy(schedule["after"])
        after["base_lr"] = schedule["base_lr"]
        return lr_at(after, step - W)
    return schedule["base_lr"] * f0 + schedule["base_lr"] * (1 - f0) * step / W
''',
        "weighted mix of the two ends": '''
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * ((W - step) * f0 + step) / W)
    shifted = dict(schedule["after"])
    shifted.update(base_lr=base)
    return float(lr_at(shifted, step - W))
''',
    },
    "cyclic": {
        "torch's own formula, T_cur simulated step by step": '''
import math
def cyclic_lr_at(schedule, step):
    kind = schedule["name"]
    if kind in ("triangular", "triangular2"):
        up = float(schedule["step_size_up"])
        down = float(schedule["step_size_down"]) if schedule.get("step_size_down") is not None else up
        total = up + down
        ratio = up / total
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        amp = (schedule["max_lr"] - schedule["base_lr"]) * scale
        if kind == "triangular2":
            amp *= 1 / (2.0 ** (cycle - 1))
        return schedule["base_lr"] + amp
    if kind == "sgdr":
        T_i, T_cur = schedule["t_0"], 0
        for _ in range(step):
            T_cur += 1
            if T_cur >= T_i:
                T_cur -= T_i
                T_i *= schedule.get("t_mult", 1)
        lo = schedule.get("eta_min", 0.0)
        return lo + (schedule["base_lr"] - lo) * (1 + math.cos(math.pi * T_cur / T_i)) / 2
    raise ValueError("cyclic_lr_at: no such schedule: " + str(kind))
''',
        "np.interp on one cycle, restart list, numpy scalars": '''
def cyclic_lr_at(schedule, step):
    if schedule["name"] == "sgdr":
        starts = [0]
        period = schedule["t_0"]
        while starts[-1] + period <= step:
            starts.append(starts[-1] + period)
            period = period * schedule.get("t_mult", 1)
        frac = np.float64(step - starts[-1]) / period
        lo = np.float64(schedule.get("eta_min", 0.0))
        return lo + (schedule["base_lr"] - lo) * np.cos(np.pi * frac / 2) ** 2
    if schedule["name"] not in ("triangular", "triangular2"):
        raise ValueError(f"{schedule['name']}: unknown")
    u = schedule["step_size_up"]
    d = schedule.get("step_size_down", u)
    height = np.interp(step % (u + d), [0, u, u + d], [0.0, 1.0, 0.0])
    if schedule["name"] == "triangular2":
        height = height * 0.5 ** (step // (u + d))
    return np.float64(schedule["base_lr"]) * (1 - height) + schedule["max_lr"] * height
''',
        "closed-form period index with an integer correction": '''
def cyclic_lr_at(schedule, step):
    name = schedule["name"]
    if name == "sgdr":
        T0, m = schedule["t_0"], schedule.get("t_mult", 1)
        if m == 1:
            k, start = step // T0, (step // T0) * T0
        else:
            k = int(np.log(step * (m - 1) / T0 + 1) / np.log(m))
            while T0 * (m ** (k + 1) - 1) // (m - 1) <= step:   # rounding of the log
                k += 1
            while k > 0 and T0 * (m ** k - 1) // (m - 1) > step:
                k -= 1
            start = T0 * (m ** k - 1) // (m - 1)
        eta_min = schedule.get("eta_min", 0.0)
        return float(eta_min + 0.5 * (schedule["base_lr"] - eta_min) * (1 + np.cos(np.pi * (step - start) / (T0 * m ** k))))
    elif name == "triangular" or name == "triangular2":
        up = schedule["step_size_up"]
        down = schedule.get("step_size_down") or up
        n, p = step // (up + down), step % (up + down)
        rise = min(p / up, (up + down - p) / down)
        amplitude = (schedule["max_lr"] - schedule["base_lr"]) * (0.5 ** n if name == "triangular2" else 1.0)
        return float(schedule["base_lr"] + amplitude * rise)
    raise ValueError("unknown name " + repr(name))
''',
    },
    "one_cycle": {
        "torch-style list of phases": '''
import math
def one_cycle_lr_at(schedule, step):
    T = schedule["total_steps"]
    how = schedule.get("anneal_strategy", "cos")
    if how == "cos":
        anneal = lambda a, b, f: b + (a - b) / 2.0 * (math.cos(math.pi * f) + 1)
    elif how == "linear":
        anneal = lambda a, b, f: (b - a) * f + a
    else:
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {how}")
    if step > T - 1:
        raise ValueError("past the last step")
    initial = schedule["max_lr"] / schedule.get("div_factor", 25.0)
    phases = [(float(schedule.get("pct_start", 0.3) * T) - 1, initial, schedule["max_lr"]),
              (T - 1, schedule["max_lr"], initial / schedule.get("final_div_factor", 1e4))]
    start_step = 0
    for i, (end_step, a, b) in enumerate(phases):
        if step <= end_step or i == len(phases) - 1:
            return anneal(a, b, (step - start_step) / (end_step - start_step))
        start_step = end_step
''',
        "np.interp for linear, squared cosine, numpy scalars": '''
def one_cycle_lr_at(schedule, step):
    s = {"pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0, "final_div_factor": 1e4}
    s.update(schedule)
    if s["anneal_strategy"] not in ("cos", "linear"):
        raise ValueError("unknown anneal_strategy " + s["anneal_strategy"])
    T = s["total_steps"]
    if not step < T:
        raise ValueError("step out of range")
    lo = np.float64(s["max_lr"]) / s["div_factor"]
    xs = [0.0, s["pct_start"] * T - 1.0, T - 1.0]
    ys = [lo, s["max_lr"], lo / s["final_div_factor"]]
    if s["anneal_strategy"] == "linear":
        return np.interp(step, xs, ys)
    i = 0 if step <= xs[1] else 1
    f = (step - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i + 1] + (ys[i] - ys[i + 1]) * np.cos(np.pi * f / 2) ** 2
''',
    },
    "newton": {
        "least squares": '''
def newton_step(grad, hess):
    return np.linalg.lstsq(hess, -grad, rcond=None)[0]
''',
        "eigendecomposition applied to the gradient": '''
def newton_step(grad, hess):
    lam, Q = np.linalg.eigh((hess + hess.T) / 2)
    return -(Q @ ((Q.T @ grad) / lam))
''',
        "solve with a column right-hand side": '''
def newton_step(grad, hess):
    rhs = -np.asarray(grad, dtype=np.float64).reshape(-1, 1)
    return np.linalg.solve(hess, rhs)[:, 0]
''',
    },
    "lbfgs": {
        "stacked pair arrays": '''
def lbfgs_direction(grad, s_list, y_list):
    if len(s_list) == 0:
        return -np.array(grad, dtype=np.float64)
    S, Y = np.array(s_list), np.array(y_list)          # (m, n): no (n, n) matrix
    rho = 1.0 / np.einsum("ij,ij->i", S, Y)
    q = np.array(grad, dtype=np.float64)
    alpha = np.zeros(len(S))
    for i in range(len(S) - 1, -1, -1):
        alpha[i] = rho[i] * S[i].dot(q)
        q -= alpha[i] * Y[i]
    r = (S[-1].dot(Y[-1]) / Y[-1].dot(Y[-1])) * q
    for i in range(len(S)):
        r += (alpha[i] - rho[i] * Y[i].dot(r)) * S[i]
    return -r
''',
        "zip over reversed pairs, in-place on a copy": '''
def lbfgs_direction(grad, s_list, y_list):
    q = grad.copy()
    pairs = list(zip(s_list, y_list))
    stack = []
    for s, y in reversed(pairs):
        rho = 1.0 / np.dot(y, s)
        a = rho * np.dot(s, q)
        q -= a * y
        stack.append((rho, a))
    if pairs:
        s, y = pairs[-1]
        q *= np.dot(s, y) / np.dot(y, y)
    for (s, y), (rho, a) in zip(pairs, reversed(stack)):
        q += (a - rho * np.dot(y, q)) * s
    return -q
''',
        "recursive form of the two loops": '''
def lbfgs_direction(grad, s_list, y_list):
    m = len(s_list)
    gamma = float(s_list[-1] @ y_list[-1] / (y_list[-1] @ y_list[-1])) if m else 1.0

    def apply(k, vec):
        # B_k @ vec, B_k the BFGS matrix after the first k pairs, by the recursion on the pairs
        if k == 0:
            return gamma * vec
        s, y = s_list[k - 1], y_list[k - 1]
        rho = 1.0 / float(y @ s)
        a = rho * float(s @ vec)
        r = apply(k - 1, vec - a * y)
        return r + (a - rho * float(y @ r)) * s

    return -apply(m, np.asarray(grad, dtype=np.float64))
''',
    },
    "critical_point": {
        "eigh and counts": '''
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigh(0.5 * (hessian + hessian.T))[0]
    thr = tol * max(1.0, np.max(np.abs(lam)))
    n_pos = int(np.sum(lam > thr))
    n_neg = int(np.sum(lam < -thr))
    if n_pos and n_neg:
        return "saddle"
    if n_pos == len(lam):
        return "minimum"
    if n_neg == len(lam):
        return "maximum"
    return "degenerate"
''',
        "general eigvals, real parts, isclose": '''
def classify_critical_point(hessian, tol=1e-8):
    sym = (np.array(hessian, dtype=float) + np.array(hessian, dtype=float).T) / 2
    lam = np.sort(np.linalg.eigvals(sym).real)
    thr = tol * max(1.0, float(np.abs(lam).max()))
    zero = np.isclose(lam, 0.0, rtol=0.0, atol=thr)
    if lam[0] < -thr and lam[-1] > thr:
        return "saddle"
    if zero.any():
        return "degenerate"
    return "minimum" if lam[0] > 0 else "maximum"
''',
        "eigenvalues scaled by max(1, largest)": '''
def classify_critical_point(hessian, tol=1e-8):
    H = hessian.copy()
    H += H.T
    H *= 0.5
    lam = np.linalg.eigvalsh(H)
    mu = lam / max(1.0, np.abs(lam).max())
    signs = set(np.where(np.abs(mu) <= tol, 0, np.sign(mu)).tolist())
    if {1.0, -1.0} <= signs:
        return "saddle"
    if signs == {1.0}:
        return "minimum"
    if signs == {-1.0}:
        return "maximum"
    return "degenerate"
''',
    },
    "hvp": {
        "p (1 - p) from exp(-|s|)": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    e = np.exp(-np.abs(X @ w))
    curv = e / (1.0 + e) ** 2
    return X.T @ (curv * (X @ v)) / len(X) + reg * v
''',
        "masked stable sigmoid and einsum": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    s = X @ w
    p = np.empty_like(s)
    pos = s >= 0
    p[pos] = 1.0 / (1.0 + np.exp(-s[pos]))
    e = np.exp(s[~pos])
    p[~pos] = e / (1.0 + e)
    d = p * (1.0 - p)
    return np.einsum("i,ij->j", d * np.einsum("ij,j->i", X, v), X) / X.shape[0] + reg * v
''',
        "torch double backward in float64": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    Xt = torch.tensor(X, dtype=torch.float64)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    s = Xt @ wt
    loss = (torch.nn.functional.softplus(s) - torch.tensor(y, dtype=torch.float64) * s).mean() \\
        + 0.5 * reg * (wt * wt).sum()
    (g,) = torch.autograd.grad(loss, wt, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.tensor(v, dtype=torch.float64), wt)
    return hv.detach().numpy().copy()
''',
        "loop over the examples": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    out = np.zeros(X.shape[1])
    for x in X:
        t = 0.5 * np.tanh(0.5 * float(x @ w))
        out += (0.25 - t * t) * float(x @ v) * x      # p (1 - p) = 1/4 - tanh(s/2)^2 / 4
    return out / X.shape[0] + reg * v
''',
    },
    "power_iteration": {
        "Rayleigh quotient of the returned vector": '''
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(len(H))
    v = v / np.linalg.norm(v)
    for _ in range(iters):
        h = H @ v
        nh = np.linalg.norm(h)
        if nh == 0:
            return 0.0, v
        v = h / nh
    return float(v @ H @ v), v
''',
        "in-place normalization, numpy scalar": '''
def top_eigenvalue(H, iters=100, seed=0):
    gen = np.random.default_rng(seed)
    v = gen.standard_normal(H.shape[0])
    v /= np.sqrt(v @ v)
    lam = np.float64(0.0)
    for _ in range(iters):
        h = np.dot(H, v)
        nh = np.sqrt(np.dot(h, h))
        if nh == 0.0:
            return 0.0, v
        lam = np.dot(v, h) / np.dot(v, v)
        np.divide(h, nh, out=h)
        v = h
    return lam, v
''',
        "while loop with a counter": '''
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    v = v / np.linalg.norm(v)
    lam, k = 0.0, 0
    while k < iters:
        h = H.dot(v)
        if not np.any(h):
            lam = 0.0
            break
        lam = float(np.vdot(v, h))
        v = h / np.linalg.norm(h)
        k += 1
    return lam, v
''',
    },
    "clip": {
        "norm of the concatenation": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads])))
    factor = min(1.0, max_norm / (total + 1e-6))
    return [np.multiply(g, factor) for g in grads], total
''',
        "copies scaled in place": '''
def clip_grad_norm(grads, max_norm):
    out = [np.array(g, dtype=np.float64, copy=True) for g in grads]
    sq = np.float64(0.0)
    for g in out:
        sq += np.vdot(g, g)
    total = np.sqrt(sq)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in out:
            g *= coef
    return out, float(total)
''',
        "math.hypot over per-tensor norms, tuple result": '''
import math
def clip_grad_norm(grads, max_norm):
    total = math.hypot(*[float(np.linalg.norm(g)) for g in grads])
    scale = max_norm / (total + 1e-6)
    clipped = [g * scale if scale < 1 else g.copy() for g in grads]
    return (clipped, total)
''',
    },
}
