"""Correct implementations of notebook 02's graded functions, written differently from the reference:
other cache designs (dict, list, the input only, float64 copies, a numpy integer inside), einsum and
loops, other stable formulas for the log-sum-exp, other valid topological orders. Each is appended to
its part's solution cell and must earn full marks under every seed."""

ALTERNATIVES = {
    "affine": {
        "dict cache of float64 copies, einsum": '''
def affine_forward(x, w, b):
    x64, w64 = np.array(x, dtype=np.float64), np.array(w, dtype=np.float64)
    out = np.einsum("nd,dm->nm", x64, w64) + b
    return out, {"x": x64, "w": w64}


def affine_backward(dout, cache):
    dx = np.einsum("nm,dm->nd", dout, cache["w"])
    dw = np.einsum("nd,nm->dm", cache["x"], dout)
    db = np.einsum("nm->m", dout)
    return dx, dw, db
''',
        "list cache with the bias and the batch size as a numpy integer": '''
def affine_forward(x, w, b):
    out = np.dot(x, w)
    out += b  # out is a new array: adding in place is safe
    return out, [x, w, b, np.int64(x.shape[0])]


def affine_backward(dout, cache):
    x, w, b, n = cache
    db = np.zeros(w.shape[1])
    for row in range(int(n)):
        db += dout[row]
    return np.dot(dout, w.T), np.dot(x.T, dout), db
''',
        "tuple cache of the input only, weights kept by the caller's tuple": '''
def affine_forward(x, w, b):
    return x @ w + b[None, :], (x, (w, w.shape))


def affine_backward(dout, cache):
    x, (w, shape) = cache
    dw = np.tensordot(x, dout, axes=([0], [0]))
    dx = np.tensordot(dout, w, axes=([1], [1]))
    return dx, dw.reshape(shape), np.add.reduce(dout, axis=0)
''',
    },
    "relu": {
        "the input itself as the cache, a product with the mask": '''
def relu_forward(x):
    return x * (x > 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
''',
        "a dict cache holding a float mask": '''
def relu_forward(x):
    mask = (x > 0).astype(np.float64)
    return np.where(x > 0, x, 0.0), {"mask": mask}


def relu_backward(dout, cache):
    return dout * cache["mask"]
''',
        "the output as the cache, zeroing a copy of dout in place": '''
def relu_forward(x):
    out = x.clip(min=0.0)
    return out, [out]


def relu_backward(dout, cache):
    dx = np.array(dout, dtype=np.float64, copy=True)
    dx[cache[0] <= 0] = 0.0
    return dx
''',
    },
    "softmax_ce": {
        "log-sum-exp by np.logaddexp.reduce, a one-hot matrix": '''
def softmax_cross_entropy(scores, y):
    n, c = scores.shape
    lse = np.logaddexp.reduce(scores, axis=1)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), y] = 1.0
    loss = np.mean(lse - np.sum(scores * onehot, axis=1))
    dscores = (np.exp(scores - lse[:, None]) - onehot) / n
    return float(loss), dscores
''',
        "probabilities first, loss as a numpy float64": '''
def softmax_cross_entropy(scores, y):
    n = len(y)
    shifted = scores - np.max(scores, axis=1)[:, None]
    e = np.exp(shifted)
    total = e.sum(axis=1)
    probs = e / total[:, None]
    loss = np.sum(np.log(total) - shifted[np.arange(n), y]) / n
    probs[np.arange(n), y] -= 1.0
    return np.float64(loss), probs / n
''',
        "torch's log_softmax in float64, results back in numpy": '''
def softmax_cross_entropy(scores, y):
    s = torch.tensor(scores, dtype=torch.float64)
    logp = torch.log_softmax(s, dim=1)
    idx = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    n = s.shape[0]
    loss = -logp[torch.arange(n), idx].mean().item()
    d = torch.exp(logp)
    d[torch.arange(n), idx] -= 1.0
    return loss, (d / n).numpy().copy()
''',
    },
    "two_layer_net": {
        "the layers written inline": '''
def two_layer_loss(params, X, y, reg=0.0):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n = X.shape[0]
    pre = X @ W1 + b1
    h = np.maximum(pre, 0.0)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(n), y].mean() + 0.5 * reg * (np.vdot(W1, W1) + np.vdot(W2, W2))
    ds = np.exp(logp)
    ds[np.arange(n), y] -= 1.0
    ds /= n
    dh = ds @ W2.T
    dpre = dh * (pre > 0)
    return float(loss), {"W1": X.T @ dpre + reg * W1, "b1": dpre.sum(axis=0),
                         "W2": h.T @ ds + reg * W2, "b2": ds.sum(axis=0)}
''',
        "penalty by norms, gradients collected in a loop": '''
def two_layer_loss(params, X, y, reg=0.0):
    caches = []
    out = X
    for layer in ("1", "2"):
        out, cache = affine_forward(out, params["W" + layer], params["b" + layer])
        caches.append(cache)
        if layer == "1":
            out, relu_cache = relu_forward(out)
    loss, dout = softmax_cross_entropy(out, y)
    loss = loss + reg / 2 * sum(np.linalg.norm(params[k]) ** 2 for k in ("W1", "W2"))
    grads = {}
    for layer in ("2", "1"):
        dout, dw, db = affine_backward(dout, caches[int(layer) - 1])
        grads["W" + layer] = dw + reg * params["W" + layer]
        grads["b" + layer] = db
        if layer == "2":
            dout = relu_backward(dout, relu_cache)
    return float(loss), grads
''',
        "copies of the parameters updated in place": '''
def two_layer_loss(params, X, y, reg=0.0):
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    pre, c1 = affine_forward(X, p["W1"], p["b1"])
    hid, cr = relu_forward(pre)
    scores, c2 = affine_forward(hid, p["W2"], p["b2"])
    loss, ds = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = affine_backward(ds, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
    penalty = 0.0
    for k, g in (("W1", dW1), ("W2", dW2)):
        penalty += np.sum(p[k] ** 2)
        p[k] *= reg
        p[k] += g
    return loss + 0.5 * reg * penalty, {"W1": p["W1"], "b1": db1, "W2": p["W2"], "b2": db2}
''',
    },
    "grad_check": {
        "a flat copy, an index loop and np.sqrt of sums of squares": '''
def numerical_gradient(f, x, h=1e-5):
    shape = np.shape(x)
    flat = np.array(x, dtype=np.float64).ravel()
    grad = np.empty(flat.size)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f(flat.reshape(shape))
        flat[i] = keep - h
        down = f(flat.reshape(shape))
        flat[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(shape)


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not a.any() and not b.any():
        return 0.0
    return float(np.sqrt(np.sum((a - b) ** 2)) / (np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(b ** 2))))


def gradient_check(name, x, h=1e-5, tol=1e-6):
    f, df = GRADIENT_CASES[name]
    err = relative_error(df(x), numerical_gradient(f, x, h=h))
    return err, err < tol
''',
        "a basis array e for each entry, x + h e and x - h e": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = 1.0
        grad[idx] = (f(x + h * e) - f(x - h * e)) / (2.0 * h)
    return grad


def relative_error(a, b):
    num = np.linalg.norm(np.ravel(a) - np.ravel(b))
    den = np.linalg.norm(np.ravel(a)) + np.linalg.norm(np.ravel(b))
    return float(num / den) if den > 0 else 0.0


def gradient_check(name, x, h=1e-5, tol=1e-6):
    f, grad_f = GRADIENT_CASES[name]
    numeric = numerical_gradient(f, x, h)
    error = relative_error(numeric, grad_f(np.copy(x)))
    return error, bool(error < tol)
''',
        "steps undone with += and -= on a private copy, norms rescaled": '''
def numerical_gradient(f, x, h=1e-5):
    work = x.astype(np.float64, copy=True)
    grad = np.zeros_like(work)
    it = np.nditer(work, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        work[i] += h
        fp = f(work)
        work[i] -= 2 * h
        fm = f(work)
        work[i] += h
        grad[i] = 0.5 * (fp - fm) / h
    return grad


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    a, b = a / scale, b / scale  # rescaled: the ratio is unchanged and no square under- or overflows
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def gradient_check(name, x, h=1e-5, tol=1e-6):
    f, analytic = GRADIENT_CASES[name]
    error = relative_error(analytic(x), numerical_gradient(f, x, h))
    passed = True if error < tol else False
    return error, passed
''',
    },
    "forward_mode": {
        "other formulas for the rules, value from the zero direction": '''
class Dual:
    def __init__(self, val, dot=0.0):
        self.val, self.dot = float(val), float(dot)

    def __add__(self, other):
        return Dual(self.val + other.val, self.dot + other.dot)

    def __sub__(self, other):
        return Dual(self.val - other.val, self.dot + (-1.0) * other.dot)

    def __mul__(self, other):
        return Dual(self.val * other.val, other.val * self.dot + self.val * other.dot)

    def __truediv__(self, other):
        q = self.val / other.val
        return Dual(q, (self.dot - q * other.dot) / other.val)

    def exp(self):
        return Dual(math.exp(self.val), math.exp(self.val) * self.dot)

    def log(self):
        return Dual(math.log(self.val), self.dot * (1.0 / self.val))

    def sin(self):
        return Dual(math.sin(self.val), self.dot * math.cos(self.val))

    def cos(self):
        return Dual(math.cos(self.val), self.dot * -math.sin(self.val))

    def tanh(self):
        return Dual(math.tanh(self.val), self.dot / math.cosh(self.val) ** 2)

    def relu(self):
        return Dual(self.val if self.val > 0 else 0.0, self.dot * (self.val > 0))


def forward_mode_derivative(program, x, v):
    out = run_program(program, [Dual(a, b) for a, b in zip(np.asarray(x), np.asarray(v))])
    return float(out.val), float(out.dot)


def forward_mode_gradient(program, x):
    n = len(x)
    value = forward_mode_derivative(program, x, np.zeros(n))[0]
    grad = np.array([forward_mode_derivative(program, x, e)[1] for e in np.eye(n)])
    return value, grad.reshape(n)
''',
        "methods added to the class one by one, numpy scalars kept": '''
def _sub(self, other):
    return Dual(self.val - other.val, self.dot - other.dot)


def _mul(self, other):
    return Dual(self.val * other.val, self.dot * other.val + other.dot * self.val)


def _div(self, other):
    return Dual(self.val / other.val, self.dot / other.val - self.val * other.dot / (other.val * other.val))


def _tanh(self):
    t = np.tanh(self.val)
    return Dual(t, self.dot * (1 - t) * (1 + t))


Dual.__sub__, Dual.__mul__, Dual.__truediv__, Dual.tanh = _sub, _mul, _div, _tanh
Dual.exp = lambda self: Dual(np.exp(self.val), np.exp(self.val) * self.dot)
Dual.log = lambda self: Dual(np.log(self.val), self.dot / self.val)
Dual.sin = lambda self: Dual(np.sin(self.val), np.cos(self.val) * self.dot)
Dual.cos = lambda self: Dual(np.cos(self.val), -np.sin(self.val) * self.dot)
Dual.relu = lambda self: Dual(max(self.val, 0.0), 0.0 if self.val <= 0 else self.dot)


def forward_mode_derivative(program, x, v):
    inputs = [Dual(x[k], v[k]) for k in range(len(x))]
    out = run_program(program, inputs)
    return np.float64(out.val), np.float64(out.dot)


def forward_mode_gradient(program, x):
    grads = []
    value = None
    for k in range(len(x)):
        direction = [0.0] * len(x)
        direction[k] = 1.0
        value, d = forward_mode_derivative(program, x, direction)
        grads.append(d)
    if value is None:  # no inputs at all
        value = float(run_program(program, []).val)
    return value, np.array(grads, dtype=np.float64)
''',
        "a dual number as a two-entry array": '''
class Dual:
    def __init__(self, val, dot=0.0):
        self.pair = np.array([val, dot], dtype=np.float64)

    val = property(lambda self: float(self.pair[0]))
    dot = property(lambda self: float(self.pair[1]))

    def _chain(self, value, slope):
        return Dual(value, slope * self.dot)

    def __add__(self, other):
        return Dual(*(self.pair + other.pair))

    def __sub__(self, other):
        return Dual(*(self.pair - other.pair))

    def __mul__(self, other):
        return Dual(self.val * other.val, self.dot * other.val + self.val * other.dot)

    def __truediv__(self, other):
        return Dual(self.val / other.val, (self.dot * other.val - self.val * other.dot) / (other.val ** 2))

    def exp(self):
        e = math.exp(self.val)
        return self._chain(e, e)

    def log(self):
        return self._chain(math.log(self.val), 1.0 / self.val)

    def sin(self):
        return self._chain(math.sin(self.val), math.cos(self.val))

    def cos(self):
        return self._chain(math.cos(self.val), -math.sin(self.val))

    def tanh(self):
        t = math.tanh(self.val)
        return self._chain(t, 1.0 - t ** 2)

    def relu(self):
        return self._chain(max(self.val, 0.0), float(self.val > 0))


def forward_mode_derivative(program, x, v):
    out = run_program(program, list(map(Dual, x, v)))
    return out.val, out.dot


def forward_mode_gradient(program, x):
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    for k in range(x.size):
        value, grad[k] = forward_mode_derivative(program, x, np.arange(x.size) == k)
    return value, grad
''',
    },
    "reverse_mode": {
        "recursive depth-first search, parents visited last to first": '''
Value.__sub__ = lambda self, other: Value(self.data - other.data, (self, other), (1.0, -1.0))
Value.__mul__ = lambda self, other: Value(self.data * other.data, (self, other), (other.data, self.data))
Value.__truediv__ = lambda self, other: Value(self.data / other.data, (self, other),
                                              (1.0 / other.data, -(self.data / other.data) / other.data))
Value.exp = lambda self: Value(math.exp(self.data), (self,), (math.exp(self.data),))
Value.log = lambda self: Value(math.log(self.data), (self,), (1.0 / self.data,))
Value.sin = lambda self: Value(math.sin(self.data), (self,), (math.cos(self.data),))
Value.cos = lambda self: Value(math.cos(self.data), (self,), (-math.sin(self.data),))
Value.tanh = lambda self: Value(math.tanh(self.data), (self,), (1.0 - math.tanh(self.data) ** 2,))
Value.relu = lambda self: Value(self.data * (self.data > 0), (self,), (float(self.data > 0),))


def topological_order(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in reversed(node.parents):
            visit(parent)
        order.append(node)

    visit(root)
    return order


def _backward(self):
    nodes = topological_order(self)
    self.grad = 1.0
    for node in nodes[::-1]:
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad = parent.grad + node.grad * local


Value.backward = _backward


def reverse_mode_gradient(program, x):
    leaves = [Value(float(v)) for v in x]
    out = run_program(program, leaves)
    out.backward()
    return out.data, np.array([leaf.grad for leaf in leaves], dtype=np.float64).reshape(len(leaves))
''',
        "Kahn's algorithm: a node once all its users are done": '''
def topological_order(root):
    users, stack, seen = {}, [root], {id(root)}
    while stack:  # count, for every reachable node, how many edges leave it toward reachable users
        node = stack.pop()
        for parent in node.parents:
            users[id(parent)] = users.get(id(parent), 0) + 1
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    reverse, ready = [], [root]
    while ready:
        node = ready.pop(0)
        reverse.append(node)
        for parent in node.parents:
            users[id(parent)] -= 1
            if users[id(parent)] == 0:
                ready.append(parent)
    return reverse[::-1]
''',
        "a backward sweep that waits for every user (no separate sort)": '''
def _backward(self):
    pending, stack, seen = {}, [self], {id(self)}
    while stack:
        node = stack.pop()
        for parent in node.parents:
            pending[id(parent)] = pending.get(id(parent), 0) + 1
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    self.grad = 1.0
    done = [self]
    while done:
        node = done.pop()
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad
            pending[id(parent)] -= 1
            if pending[id(parent)] == 0:
                done.append(parent)


Value.backward = _backward


def reverse_mode_gradient(program, x):
    xs = [Value(v) for v in np.asarray(x, dtype=np.float64).tolist()]
    out = run_program(program, xs)
    out.backward()
    return float(out.data), np.fromiter((v.grad for v in xs), dtype=np.float64, count=len(xs))
''',
    },
    "engine": {
        "micrograd style: subtraction and division through negation and powers": '''
class Scalar(Value):
    def __add__(self, other):
        other = other if isinstance(other, Value) else Scalar(other)
        return Scalar(self.data + other.data, (self, other), (1.0, 1.0))
    __radd__ = __add__
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Scalar(other)
        return Scalar(self.data * other.data, (self, other), (other.data, self.data))
    __rmul__ = __mul__
    def __neg__(self):
        return self * -1
    def __sub__(self, other):
        return self + (-other)
    def __rsub__(self, other):
        return (-self) + other
    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only constant exponents"
        return Scalar(self.data ** k, (self,), (k * self.data ** (k - 1),))
    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Scalar(other)
        return self * other ** -1
    def __rtruediv__(self, other):
        return Scalar(other) * self ** -1
    def _unary(self, value, local):
        return Scalar(value, (self,), (local,))
    def exp(self):
        return self._unary(math.exp(self.data), math.exp(self.data))
    def log(self):
        return self._unary(math.log(self.data), 1 / self.data)
    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data))
    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data))
    def tanh(self):
        return self._unary(math.tanh(self.data), 1 - math.tanh(self.data) ** 2)
    def relu(self):
        return self._unary(self.data if self.data > 0 else 0.0, float(self.data > 0))
''',
        "a standalone class with its own recursive backward and numpy math": '''
class Scalar:
    def __init__(self, data, parents=(), local_grads=()):
        self.data, self.grad = np.float64(data), 0.0
        self.parents, self.local_grads = list(parents), list(local_grads)
    @staticmethod
    def of(x):
        return x if isinstance(x, Scalar) else Scalar(x)
    def __add__(self, o): o = Scalar.of(o); return Scalar(self.data + o.data, [self, o], [1.0, 1.0])
    def __radd__(self, o): return Scalar.of(o) + self
    def __sub__(self, o): o = Scalar.of(o); return Scalar(self.data - o.data, [self, o], [1.0, -1.0])
    def __rsub__(self, o): return Scalar.of(o) - self
    def __mul__(self, o): o = Scalar.of(o); return Scalar(self.data * o.data, [self, o], [o.data, self.data])
    def __rmul__(self, o): return Scalar.of(o) * self
    def __truediv__(self, o):
        o = Scalar.of(o)
        q = self.data / o.data
        return Scalar(q, [self, o], [1.0 / o.data, -q / o.data])
    def __rtruediv__(self, o): return Scalar.of(o) / self
    def __neg__(self): return Scalar(-self.data, [self], [-1.0])
    def __pow__(self, k): return Scalar(np.power(self.data, k), [self], [k * np.power(self.data, k - 1)])
    def exp(self): e = np.exp(self.data); return Scalar(e, [self], [e])
    def log(self): return Scalar(np.log(self.data), [self], [1.0 / self.data])
    def sin(self): return Scalar(np.sin(self.data), [self], [np.cos(self.data)])
    def cos(self): return Scalar(np.cos(self.data), [self], [-np.sin(self.data)])
    def tanh(self): t = np.tanh(self.data); return Scalar(t, [self], [1.0 - t ** 2])
    def relu(self): return Scalar(np.maximum(self.data, 0.0), [self], [np.float64(self.data > 0)])
    def backward(self):
        order, seen = [], set()
        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for p in node.parents:
                    visit(p)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in order[::-1]:
            for p, d in zip(node.parents, node.local_grads):
                p.grad = p.grad + d * node.grad
def lift(x):
    return x if isinstance(x, Scalar) else Scalar(x)
''',
    },
}
