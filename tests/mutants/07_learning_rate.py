"""Plausible wrong implementations for notebook 07. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# warmup_lr_at calls lr_at for the steps after the warm-up, as its docstring asks.
DEPENDS = {"warmup": ["lr_schedule"]}

MUTANTS = {
    "lr_schedule": {
        "ValueError without the unknown name": """
_lr_at_ok = lr_at
def lr_at(schedule, step):
    if schedule["name"] not in ("step", "exponential", "cosine"):
        raise ValueError("unknown schedule")
    return _lr_at_ok(schedule, step)
""",
        "eta_min defaults to 1e-6": """
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (step // schedule["step_size"]))
    if name == "exponential":
        return float(base * schedule["gamma"] ** step)
    if name == "cosine":
        m = schedule.get("eta_min", 1e-6)
        return float(m + (base - m) * (1 + np.cos(np.pi * step / schedule["t_max"])) / 2)
    raise ValueError(name)
""",
        "writes the default eta_min into the dict": """
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (step // schedule["step_size"]))
    if name == "exponential":
        return float(base * schedule["gamma"] ** step)
    if name == "cosine":
        schedule.setdefault("eta_min", 0.0)
        m = schedule["eta_min"]
        return float(m + (base - m) * (1 + np.cos(np.pi * step / schedule["t_max"])) / 2)
    raise ValueError(name)
""",
        "step decay one step late": '''
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (max(step - 1, 0) // schedule["step_size"]))
    if name == "exponential":
        return float(base * schedule["gamma"] ** step)
    if name == "cosine":
        m = schedule.get("eta_min", 0.0)
        return float(m + (base - m) * (1 + np.cos(np.pi * step / schedule["t_max"])) / 2)
    raise ValueError(name)
''',
        "cosine held at eta_min after t_max": '''
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (step // schedule["step_size"]))
    if name == "exponential":
        return float(base * schedule["gamma"] ** step)
    if name == "cosine":
        m = schedule.get("eta_min", 0.0)
        t = min(step, schedule["t_max"])
        return float(m + (base - m) * (1 + np.cos(np.pi * t / schedule["t_max"])) / 2)
    raise ValueError(name)
''',
        "cosine ignores eta_min's offset": '''
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (step // schedule["step_size"]))
    if name == "exponential":
        return float(base * schedule["gamma"] ** step)
    if name == "cosine":
        return float(base * (1 + np.cos(np.pi * step / schedule["t_max"])) / 2)
    raise ValueError(name)
''',
        "exponential as exp(-gamma t)": '''
def lr_at(schedule, step):
    name, base = schedule["name"], schedule["base_lr"]
    if name == "step":
        return float(base * schedule["gamma"] ** (step // schedule["step_size"]))
    if name == "exponential":
        return float(base * np.exp(-schedule["gamma"] * step))
    if name == "cosine":
        m = schedule.get("eta_min", 0.0)
        return float(m + (base - m) * (1 + np.cos(np.pi * step / schedule["t_max"])) / 2)
    raise ValueError(name)
''',
        "unknown name returns the base learning rate": '''
_lr_at_ok = lr_at
def lr_at(schedule, step):
    if schedule["name"] not in ("step", "exponential", "cosine"):
        return float(schedule["base_lr"])
    return _lr_at_ok(schedule, step)
''',
    },
    "warmup": {
        "integer division in the ramp": """
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * (f0 + (1 - f0) * (step // W)))
    return lr_at(dict(schedule["after"], base_lr=base), step - W)
""",
        "start factor 1 treated as no warm-up at all": """
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if f0 == 1.0:
        return lr_at(dict(schedule["after"], base_lr=base), step)
    if step < W:
        return float(base * (f0 + (1 - f0) * step / W))
    return lr_at(dict(schedule["after"], base_lr=base), step - W)
""",
        "base schedule held at its last value far beyond t_max": """
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * (f0 + (1 - f0) * step / W))
    after = schedule["after"]
    t = step - W
    if after["name"] == "cosine":
        t = min(t, after["t_max"])
    return lr_at(dict(after, base_lr=base), t)
""",
        "ramp reaches the base rate one step early": '''
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * (f0 + (1 - f0) * step / max(W - 1, 1)))
    return lr_at(dict(schedule["after"], base_lr=base), step - W)
''',
        "base schedule not shifted by the warm-up": '''
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * (f0 + (1 - f0) * step / W))
    return lr_at(dict(schedule["after"], base_lr=base), step)
''',
        "ramp starts at 0 (start_factor ignored)": '''
def warmup_lr_at(schedule, step):
    base, W = schedule["base_lr"], schedule["warmup_steps"]
    if step < W:
        return float(base * step / W)
    return lr_at(dict(schedule["after"], base_lr=base), step - W)
''',
        "writes base_lr into the 'after' dict": '''
def warmup_lr_at(schedule, step):
    base, W, f0 = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"]
    if step < W:
        return float(base * (f0 + (1 - f0) * step / W))
    after = schedule["after"]
    after["base_lr"] = base
    return lr_at(after, step - W)
''',
    },
    "cyclic": {
        "triangular2 halves from the first cycle on": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] != "triangular2":
        return _cyclic_ok(schedule, step)
    up = schedule["step_size_up"]
    c = up + schedule.get("step_size_down", up)
    lr = _cyclic_ok(dict(schedule, name="triangular"), step)
    return float(schedule["base_lr"] + (lr - schedule["base_lr"]) / 2.0 ** (step // c + 1))
''',
        "triangular2 halves the whole learning rate": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] != "triangular2":
        return _cyclic_ok(schedule, step)
    up = schedule["step_size_up"]
    c = up + schedule.get("step_size_down", up)
    return float(_cyclic_ok(dict(schedule, name="triangular"), step) / 2.0 ** (step // c))
''',
        "step_size_down ignored (always symmetric)": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    s = {k: v for k, v in schedule.items() if k != "step_size_down"}
    return _cyclic_ok(s, step)
''',
        "triangle measured from the peak": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] == "sgdr":
        return _cyclic_ok(schedule, step)
    up = schedule["step_size_up"]
    down = schedule.get("step_size_down", up)
    p = step % (up + down)
    s = p / up if p < up else 1.0 - (p - up) / (up + down)
    if schedule["name"] == "triangular2":
        s /= 2.0 ** (step // (up + down))
    return float(schedule["base_lr"] + (schedule["max_lr"] - schedule["base_lr"]) * s)
''',
        "sgdr ignores t_mult": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] == "sgdr":
        return _cyclic_ok(dict(schedule, t_mult=1), step)
    return _cyclic_ok(schedule, step)
''',
        "sgdr restarts one step late": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] != "sgdr":
        return _cyclic_ok(schedule, step)
    base, m = schedule["base_lr"], schedule.get("eta_min", 0.0)
    t, T = step, schedule["t_0"]
    while t > T:
        t -= T
        T *= schedule.get("t_mult", 1)
    return float(m + (base - m) * (1 + np.cos(np.pi * t / T)) / 2)
''',
        "sgdr period doubles by default": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] == "sgdr" and "t_mult" not in schedule:
        return _cyclic_ok(dict(schedule, t_mult=2), step)
    return _cyclic_ok(schedule, step)
''',
        "ValueError without the unknown name": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] not in ("triangular", "triangular2", "sgdr"):
        raise ValueError("unknown cyclic schedule")
    return _cyclic_ok(schedule, step)
''',
        "writes the defaults into the dict": '''
_cyclic_ok = cyclic_lr_at
def cyclic_lr_at(schedule, step):
    if schedule["name"] == "sgdr":
        schedule.setdefault("t_mult", 1)
        schedule.setdefault("eta_min", 0.0)
    elif schedule["name"] in ("triangular", "triangular2"):
        schedule.setdefault("step_size_down", schedule["step_size_up"])
    return _cyclic_ok(schedule, step)
''',
    },
    "one_cycle": {
        "peak step pct_start * T (no - 1)": '''
def one_cycle_lr_at(schedule, step):
    peak, T = schedule["max_lr"], schedule["total_steps"]
    start = peak / schedule.get("div_factor", 25.0)
    end = start / schedule.get("final_div_factor", 1e4)
    q = schedule.get("pct_start", 0.3) * T
    a, b, f = (start, peak, step / q) if step <= q else (peak, end, (step - q) / (T - 1 - q))
    if schedule.get("anneal_strategy", "cos") == "cos":
        return float(b + (a - b) * (1 + np.cos(np.pi * f)) / 2)
    return float(a + (b - a) * f)
''',
        "peak step rounded to an integer": '''
def one_cycle_lr_at(schedule, step):
    peak, T = schedule["max_lr"], schedule["total_steps"]
    start = peak / schedule.get("div_factor", 25.0)
    end = start / schedule.get("final_div_factor", 1e4)
    q = max(round(schedule.get("pct_start", 0.3) * T) - 1, 1)
    a, b, f = (start, peak, step / q) if step <= q else (peak, end, (step - q) / (T - 1 - q))
    if schedule.get("anneal_strategy", "cos") == "cos":
        return float(b + (a - b) * (1 + np.cos(np.pi * f)) / 2)
    return float(a + (b - a) * f)
''',
        "final rate max_lr / final_div_factor": '''
def one_cycle_lr_at(schedule, step):
    peak, T = schedule["max_lr"], schedule["total_steps"]
    start = peak / schedule.get("div_factor", 25.0)
    end = peak / schedule.get("final_div_factor", 1e4)
    q = schedule.get("pct_start", 0.3) * T - 1
    a, b, f = (start, peak, step / q) if step <= q else (peak, end, (step - q) / (T - 1 - q))
    if schedule.get("anneal_strategy", "cos") == "cos":
        return float(b + (a - b) * (1 + np.cos(np.pi * f)) / 2)
    return float(a + (b - a) * f)
''',
        "annealing phase over T - q steps (never reaches the end rate)": '''
def one_cycle_lr_at(schedule, step):
    peak, T = schedule["max_lr"], schedule["total_steps"]
    start = peak / schedule.get("div_factor", 25.0)
    end = start / schedule.get("final_div_factor", 1e4)
    q = schedule.get("pct_start", 0.3) * T - 1
    a, b, f = (start, peak, step / q) if step <= q else (peak, end, (step - q) / (T - q))
    if schedule.get("anneal_strategy", "cos") == "cos":
        return float(b + (a - b) * (1 + np.cos(np.pi * f)) / 2)
    return float(a + (b - a) * f)
''',
        "anneal_strategy ignored (always cos)": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    return _one_cycle_ok(dict(schedule, anneal_strategy="cos"), step)
''',
        "default div_factor 10": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    return _one_cycle_ok({"div_factor": 10.0, **schedule}, step)
''',
        "default pct_start 0.25": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    return _one_cycle_ok({"pct_start": 0.25, **schedule}, step)
''',
        "no error past the end (held at the end rate)": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    return _one_cycle_ok(schedule, min(step, schedule["total_steps"] - 1))
''',
        "unknown strategy treated as linear": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    if schedule.get("anneal_strategy", "cos") != "cos":
        return _one_cycle_ok(dict(schedule, anneal_strategy="linear"), step)
    return _one_cycle_ok(schedule, step)
''',
        "fills in the defaults in the dict": '''
_one_cycle_ok = one_cycle_lr_at
def one_cycle_lr_at(schedule, step):
    for key, value in (("pct_start", 0.3), ("anneal_strategy", "cos"), ("div_factor", 25.0), ("final_div_factor", 1e4)):
        schedule.setdefault(key, value)
    return _one_cycle_ok(schedule, step)
''',
    },
    "newton": {
        "inverts the Hessian (solve, do not invert)": """
def newton_step(grad, hess):
    return -np.linalg.inv(hess) @ grad
""",
        "pseudo-inverse of the Hessian": """
def newton_step(grad, hess):
    return -np.linalg.pinv(hess) @ grad
""",
        "negates the gradient in place": """
def newton_step(grad, hess):
    grad *= -1
    return np.linalg.solve(hess, grad)
""",
        "sign flipped (solves H step = g)": '''
def newton_step(grad, hess):
    return np.linalg.solve(hess, grad)
''',
        "diagonal of the Hessian only": '''
def newton_step(grad, hess):
    return -grad / np.diag(hess)
''',
        "damped system (H + I)": '''
def newton_step(grad, hess):
    return -np.linalg.solve(hess + np.eye(len(grad)), grad)
''',
    },
    "lbfgs": {
        "keeps only the last 10 pairs": """
_lbfgs_ok = lbfgs_direction
def lbfgs_direction(grad, s_list, y_list):
    return _lbfgs_ok(grad, s_list[-10:], y_list[-10:])
""",
        "works on grad in place": """
def lbfgs_direction(grad, s_list, y_list):
    q = grad
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in reversed(range(m)):
        a[i] = rho[i] * (s_list[i] @ q)
        q -= a[i] * y_list[i]
    r = (s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1]) * q if m else q.copy()
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return -r
""",
        "reverses the history lists in place": """
def lbfgs_direction(grad, s_list, y_list):
    q = np.array(grad, dtype=float)
    m = len(s_list)
    s_list.reverse()
    y_list.reverse()                       # newest first for the first loop, never put back
    rho = [1.0 / (y @ s) for s, y in zip(s_list, y_list)]
    a = [0.0] * m
    for i in range(m):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = (s_list[0] @ y_list[0]) / (y_list[0] @ y_list[0]) * q if m else q
    for i in reversed(range(m)):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return -r
""",
        "initial scaling gamma = 1": '''
def lbfgs_direction(grad, s_list, y_list):
    q = np.array(grad, dtype=float)
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in reversed(range(m)):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = q
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return -r
''',
        "first loop from oldest to newest": '''
def lbfgs_direction(grad, s_list, y_list):
    q = np.array(grad, dtype=float)
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in range(m):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = (s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1]) * q if m else q
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return -r
''',
        "gamma from the oldest pair": '''
def lbfgs_direction(grad, s_list, y_list):
    q = np.array(grad, dtype=float)
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in reversed(range(m)):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = (s_list[0] @ y_list[0]) / (y_list[0] @ y_list[0]) * q if m else q
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return -r
''',
        "returns +B g (ascent direction)": '''
_lbfgs_ok = lbfgs_direction
def lbfgs_direction(grad, s_list, y_list):
    return -_lbfgs_ok(grad, s_list, y_list)
''',
    },
    "critical_point": {
        "purely relative tolerance (tol * max |lambda|)": """
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    z = tol * np.abs(lam).max()
    pos, neg, zero = np.any(lam > z), np.any(lam < -z), np.any(np.abs(lam) <= z)
    if pos and neg:
        return "saddle"
    if zero:
        return "degenerate"
    return "minimum" if pos else "maximum"
""",
        "purely absolute tolerance (tol)": """
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    z = tol
    pos, neg, zero = np.any(lam > z), np.any(lam < -z), np.any(np.abs(lam) <= z)
    if pos and neg:
        return "saddle"
    if zero:
        return "degenerate"
    return "minimum" if pos else "maximum"
""",
        "strict < at the threshold": """
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    z = tol * max(1.0, np.abs(lam).max())
    pos, neg, zero = np.any(lam >= z), np.any(lam <= -z), np.any(np.abs(lam) < z)
    if pos and neg:
        return "saddle"
    if zero:
        return "degenerate"
    return "minimum" if pos else "maximum"
""",
        "ignores the tol argument": """
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    z = 1e-8 * max(1.0, np.abs(lam).max())
    pos, neg, zero = np.any(lam > z), np.any(lam < -z), np.any(np.abs(lam) <= z)
    if pos and neg:
        return "saddle"
    if zero:
        return "degenerate"
    return "minimum" if pos else "maximum"
""",
        "symmetrizes the Hessian in place": """
_classify_ok = classify_critical_point
def classify_critical_point(hessian, tol=1e-8):
    hessian[...] = (hessian + hessian.T) / 2
    return _classify_ok(hessian, tol)
""",
        "reads the diagonal instead of the eigenvalues": '''
def classify_critical_point(hessian, tol=1e-8):
    d = np.diag(hessian)
    if np.all(d > tol):
        return "minimum"
    if np.all(d < -tol):
        return "maximum"
    if np.any(d > tol) and np.any(d < -tol):
        return "saddle"
    return "degenerate"
''',
        "zero eigenvalues counted as positive": '''
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    if np.all(lam >= -tol):
        return "minimum" if np.any(lam > tol) else "degenerate"
    if np.all(lam < -tol):
        return "maximum"
    return "saddle"
''',
        "no tolerance (rounding decides)": '''
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    if np.all(lam > 0):
        return "minimum"
    if np.all(lam < 0):
        return "maximum"
    if np.any(lam > 0) and np.any(lam < 0):
        return "saddle"
    return "degenerate"
''',
        "semi-definite with a zero called a saddle": '''
def classify_critical_point(hessian, tol=1e-8):
    lam = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    z = tol * max(1.0, np.abs(lam).max())
    if np.all(lam > z):
        return "minimum"
    if np.all(lam < -z):
        return "maximum"
    if np.all(np.abs(lam) <= z):
        return "degenerate"
    return "saddle"
''',
    },
    "hvp": {
        "sigmoid as exp(s) / (1 + exp(s)) (nan for large logits)": """
def logistic_hvp(X, y, w, v, reg=0.0):
    e = np.exp(X @ w)
    p = e / (1 + e)
    return X.T @ (p * (1 - p) * (X @ v)) / X.shape[0] + reg * v
""",
        "sigmoid as 1 / (1 + exp(-s)) (overflows for very negative logits)": """
def logistic_hvp(X, y, w, v, reg=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p * (1 - p) * (X @ v)) / X.shape[0] + reg * v
""",
        "scales X in place by 1 / sqrt(N)": """
def logistic_hvp(X, y, w, v, reg=0.0):
    X /= np.sqrt(X.shape[0])
    p = 0.5 * (1 + np.tanh(0.5 * np.sqrt(X.shape[0]) * (X @ w)))
    return X.T @ (p * (1 - p) * (X @ v)) + reg * v
""",
        "reg default 1e-4": """
_hvp_ok = logistic_hvp
def logistic_hvp(X, y, w, v, reg=1e-4):
    return _hvp_ok(X, y, w, v, reg)
""",
        "sum instead of mean over the examples": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p * (1 - p) * (X @ v)) + reg * v
''',
        "p instead of p (1 - p)": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p * (X @ v)) / X.shape[0] + reg * v
''',
        "L2 term missing": '''
def logistic_hvp(X, y, w, v, reg=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p * (1 - p) * (X @ v)) / X.shape[0]
''',
    },
    "power_iteration": {
        "seeds numpy's global generator": """
def top_eigenvalue(H, iters=100, seed=0):
    np.random.seed(seed)
    v = np.random.standard_normal(H.shape[0])
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        hv = H @ v
        lam = float(v @ hv)
        v = hv / np.linalg.norm(hv)
    return lam, v
""",
        "one update too many": """
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters + 1):
        hv = H @ v
        norm = np.linalg.norm(hv)
        if norm == 0:
            return 0.0, v
        lam = float(v @ hv)
        v = hv / norm
    return lam, v
""",
        "start vector not normalized before the first quotient": """
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    lam = 0.0
    for _ in range(iters):
        hv = H @ v
        norm = np.linalg.norm(hv)
        if norm == 0:
            return 0.0, v / np.linalg.norm(v)
        lam = float(v @ hv)
        v = hv / norm
    return lam, v
""",
        "no guard for H v = 0 (nan)": """
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        hv = H @ v
        lam = float(v @ hv)
        v = hv / np.linalg.norm(hv)
    return lam, v
""",
        "default seed 42": """
_power_ok = top_eigenvalue
def top_eigenvalue(H, iters=100, seed=42):
    return _power_ok(H, iters, seed)
""",
        "eigenvalue as the norm of H v (sign lost)": '''
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        hv = H @ v
        lam = float(np.linalg.norm(hv))
        v = hv / lam
    return lam, v
''',
        "starts from the all-ones vector": '''
def top_eigenvalue(H, iters=100, seed=0):
    v = np.ones(H.shape[0]) / np.sqrt(H.shape[0])
    lam = 0.0
    for _ in range(iters):
        hv = H @ v
        lam = float(v @ hv)
        v = hv / np.linalg.norm(hv)
    return lam, v
''',
        "never normalizes (overflows)": '''
def top_eigenvalue(H, iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    for _ in range(iters):
        hv = H @ v
        lam = float(v @ hv / (v @ v))
        v = hv
    return lam, v / np.linalg.norm(v)
''',
    },
    "clip": {
        "clips by value (np.clip)": """
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    return [np.clip(g, -max_norm, max_norm) for g in grads], total
""",
        "returns the input arrays when nothing is clipped": """
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    coef = max_norm / (total + 1e-6)
    if coef >= 1:
        return list(grads), total
    return [g * coef for g in grads], total
""",
        "scales only when the norm exceeds max_norm": """
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    if total > max_norm:
        coef = max_norm / (total + 1e-6)
        return [g * coef for g in grads], total
    return [g.copy() for g in grads], total
""",
        "zero gradients give nan (0 / 0)": """
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    new_norm = min(total, max_norm * total / (total + 1e-6))
    return [g / total * new_norm for g in grads], total
""",
        "each tensor clipped separately": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    out = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
    return out, total
''',
        "no 1e-6 in the denominator": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    coef = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * coef for g in grads], total
''',
        "returns the norm after clipping": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    coef = min(1.0, max_norm / (total + 1e-6))
    return [g * coef for g in grads], total * coef
''',
        "scales small gradients up too": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    coef = max_norm / (total + 1e-6)
    return [g * coef for g in grads], total
''',
        "modifies the gradients in place": '''
def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= coef
    return grads, total
''',
    },
}
