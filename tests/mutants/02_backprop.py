"""Plausible wrong implementations for notebook 02. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# two_layer_loss composes the layers, as its docstring asks: a broken layer legitimately breaks it.
# The autodiff parts and the gradient checker are independent of each other and of the layers.
# Scalar (the engine) inherits backward, and with it topological_order, from the reverse-mode Value.
DEPENDS = {"two_layer_net": ["affine", "relu", "softmax_ce"], "engine": ["reverse_mode"]}

MUTANTS = {
    "affine": {
        "bias gradient averaged instead of summed": '''
def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.mean(axis=0)
''',
        "weight gradient divided by the batch size again": '''
def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout / x.shape[0], dout.sum(axis=0)
''',
        "bias gradient with a broadcastable (1, M) shape": '''
def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0, keepdims=True)
''',
        "cache kept in a global variable (the last forward wins)": '''
_LAST = {}
def affine_forward(x, w, b):
    _LAST["x"], _LAST["w"] = x, w
    return x @ w + b, ()
def affine_backward(dout, cache):
    x, w = _LAST["x"], _LAST["w"]
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)
''',
        "backward pops the arrays out of a list cache": '''
def affine_forward(x, w, b):
    return x @ w + b, [x, w]
def affine_backward(dout, cache):
    x = cache.pop(0)
    w = cache.pop(0)
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)
''',
    },
    "relu": {
        "derivative 1 at exactly 0 (mask x >= 0)": '''
def relu_forward(x):
    return np.maximum(x, 0.0), x >= 0
''',
        "backward zeroes dout in place": '''
def relu_backward(dout, cache):
    dout[~cache] = 0.0
    return dout
''',
        "forward overwrites its input": '''
def relu_forward(x):
    mask = x > 0
    np.maximum(x, 0.0, out=x)
    return x, mask
''',
        "mask kept in a global variable (the last forward wins)": '''
_MASK = []
def relu_forward(x):
    _MASK[:] = [x > 0]
    return np.maximum(x, 0.0), None
def relu_backward(dout, cache):
    return np.where(_MASK[0], dout, 0.0)
''',
        "backward turns the cached input into the mask in place": '''
def relu_forward(x):
    return np.maximum(x, 0.0), x
def relu_backward(dout, cache):
    x = cache
    x[x > 0] = 1.0
    x[x <= 0] = 0.0
    return dout * x
''',
    },
    "softmax_ce": {
        "gradient not averaged over the batch": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d
''',
        "no max subtraction (overflows for huge scores)": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    e = np.exp(scores)
    p = e / e.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(n), y] -= 1
    return float(-np.log(p[np.arange(n), y]).mean()), d / n
''',
        "loss summed instead of averaged": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].sum()), d / n
''',
        "one max over the whole batch instead of each row's own": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    z = scores - scores.max()
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d / n
''',
        "each row shifted by its largest absolute score": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    z = scores - np.abs(scores).max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d / n
''',
        "log of the stable softmax (log 0 for a far-off true class)": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(n), y] -= 1
    return float(-np.log(p[np.arange(n), y]).mean()), d / n
''',
    },
    "two_layer_net": {
        "ReLU backward skipped": '''
def two_layer_loss(params, X, y, reg=0.0):
    pre, c1 = affine_forward(X, params["W1"], params["b1"])
    hidden, _ = relu_forward(pre)
    scores, c2 = affine_forward(hidden, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dh, dW2, db2 = affine_backward(ds, c2)
    _, dW1, db1 = affine_backward(dh, c1)
    return loss, {"W1": dW1 + reg * params["W1"], "b1": db1, "W2": dW2 + reg * params["W2"], "b2": db2}
''',
        "penalty gradient missing on W1": '''
def two_layer_loss(params, X, y, reg=0.0):
    pre, c1 = affine_forward(X, params["W1"], params["b1"])
    hidden, cr = relu_forward(pre)
    scores, c2 = affine_forward(hidden, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dh, dW2, db2 = affine_backward(ds, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2 + reg * params["W2"], "b2": db2}
''',
        "penalty without the 1/2 in the loss": '''
def two_layer_loss(params, X, y, reg=0.0):
    pre, c1 = affine_forward(X, params["W1"], params["b1"])
    hidden, cr = relu_forward(pre)
    scores, c2 = affine_forward(hidden, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(scores, y)
    loss += reg * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dh, dW2, db2 = affine_backward(ds, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
    return loss, {"W1": dW1 + reg * params["W1"], "b1": db1, "W2": dW2 + reg * params["W2"], "b2": db2}
''',
        "gradients accumulated into the parameters in place": '''
def two_layer_loss(params, X, y, reg=0.0):
    pre, c1 = affine_forward(X, params["W1"], params["b1"])
    hidden, cr = relu_forward(pre)
    scores, c2 = affine_forward(hidden, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dh, dW2, db2 = affine_backward(ds, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
    W1, W2 = params["W1"], params["W2"]
    W1 *= reg
    W1 += dW1
    W2 *= reg
    W2 += dW2
    return loss, {"W1": W1, "b1": db1, "W2": W2, "b2": db2}
''',
    },
    "grad_check": {
        "forward difference instead of centred": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad, fx = np.zeros_like(x), f(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += h
        grad[idx] = (f(xp) - fx) / h
    return grad
''',
        "centred difference divided by h instead of 2h": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        grad[idx] = (f(xp) - f(xm)) / h
    return grad
''',
        "perturbation never undone (later entries see earlier steps)": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        fp = f(x)
        x[idx] -= 2 * h
        fm = f(x)
        grad[idx] = (fp - fm) / (2 * h)
    return grad
''',
        "relative error normalized by the larger entry instead of the norms": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if d == 0 else float(np.abs(a - b).max() / d)
''',
        "gradient_check ignores h (always the default step)": '''
def gradient_check(name, x, h=1e-5, tol=1e-6):
    f, analytic = GRADIENT_CASES[name]
    error = relative_error(analytic(np.array(x, dtype=np.float64)), numerical_gradient(f, x))
    return error, bool(error < tol)
''',
        "relative error with a small constant added to the denominator": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))
''',
        "perturbs the caller's x, undoing each step with += h and -= 2h": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        fp = f(x)
        x[idx] -= 2 * h
        fm = f(x)
        x[idx] += h
        grad[idx] = (fp - fm) / (2 * h)
    return grad
''',
        "tol ignored (always compared with 1e-6)": '''
def gradient_check(name, x, h=1e-5, tol=1e-6):
    f, analytic = GRADIENT_CASES[name]
    error = relative_error(analytic(np.array(x, dtype=np.float64)), numerical_gradient(f, x, h))
    return error, bool(error < 1e-6)
''',
    },
    "forward_mode": {
        "product rule written as dot * dot": '''
Dual.__mul__ = lambda self, other: Dual(self.val * other.val, self.dot * other.dot)
''',
        "quotient rule with the wrong sign": '''
Dual.__truediv__ = lambda self, other: Dual(self.val / other.val,
                                            (self.dot * other.val + self.val * other.dot) / other.val ** 2)
''',
        "tanh derivative 1 - tanh instead of 1 - tanh^2": '''
Dual.tanh = lambda self: Dual(math.tanh(self.val), (1.0 - math.tanh(self.val)) * self.dot)
''',
        "relu passes the derivative at exactly 0": '''
Dual.relu = lambda self: Dual(max(self.val, 0.0), self.dot if self.val >= 0 else 0.0)
''',
        "direction not reset between passes (e_1, e_1 + e_2, ...)": '''
def forward_mode_gradient(program, x):
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    grad, direction = np.zeros(n), np.zeros(n)
    for k in range(n):
        direction[k] = 1.0
        value, grad[k] = forward_mode_derivative(program, x, direction)
    return value, grad
''',
        "quotient rule divided by b instead of b squared": '''
Dual.__truediv__ = lambda self, other: Dual(self.val / other.val,
                                            (self.dot * other.val - self.val * other.dot) / other.val)
''',
    },
    "reverse_mode": {
        "gradients assigned instead of accumulated": '''
def _backward(self):
    order = topological_order(self)
    self.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad = local * node.grad
Value.backward = _backward
''',
        "breadth-first sweep from the output instead of a topological order": '''
def _backward(self):
    self.grad = 1.0
    queue, seen = [self], {id(self)}
    while queue:
        node = queue.pop(0)
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
Value.backward = _backward
''',
        "nodes listed before their parents (pre-order depth-first search)": '''
def topological_order(root):
    order, seen = [], set()
    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        order.append(node)
        for parent in node.parents:
            visit(parent)
    visit(root)
    return order
''',
        "sin's local derivative with the wrong sign": '''
Value.sin = lambda self: Value(math.sin(self.data), (self,), (-math.cos(self.data),))
''',
        "relu's local derivative 1 at exactly 0": '''
Value.relu = lambda self: Value(max(self.data, 0.0), (self,), (1.0 if self.data >= 0 else 0.0,))
''',
        "parents visited in order, but a node listed when first reached (no post-order)": '''
def topological_order(root):
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(node.parents)
    return order[::-1]
''',
        "division's local derivatives for the divisor with the wrong sign": '''
Value.__truediv__ = lambda self, other: Value(self.data / other.data, (self, other),
                                              (1.0 / other.data, self.data / other.data ** 2))
''',
    },
    "engine": {
        "__rsub__ computes self - other": '''
Scalar.__rsub__ = lambda self, other: self - other
''',
        "__rtruediv__ computes self / other": '''
Scalar.__rtruediv__ = lambda self, other: self / other
''',
        "power rule k a^k instead of k a^(k-1)": '''
Scalar.__pow__ = lambda self, k: Scalar(self.data ** k, (self,), (k * self.data ** k,))
''',
        "unary minus passes the gradient through unchanged": '''
Scalar.__neg__ = lambda self: Scalar(-self.data, (self,), (1.0,))
''',
        "no reflected addition (1 + x fails)": '''
del Scalar.__radd__
''',
        "a product treats its right operand as a constant": '''
def _mul(self, other):
    other = lift(other)
    return Scalar(self.data * other.data, (self,), (other.data,))
Scalar.__mul__ = _mul
''',
        "reflected addition cuts the graph (returns a new leaf)": '''
Scalar.__radd__ = lambda self, other: Scalar(other + self.data)
''',
        "relu's derivative is 1 at 0": '''
Scalar.relu = lambda self: Scalar(max(self.data, 0.0), (self,), (1.0 if self.data >= 0 else 0.0,))
''',
        "methods return a plain Value (formulas cannot go on with numbers)": '''
def _tanh(self):
    t = math.tanh(self.data)
    return Value(t, (self,), (1.0 - t * t,))
Scalar.tanh = _tanh
''',
    },
}
