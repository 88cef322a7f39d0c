"""Correct implementations of notebook 01 written differently from the reference. Each is appended
to the solution cell of its part and must earn full marks under every seed."""

ALTERNATIVES = {
    "softmax": {
        "exp of the log-softmax (log-sum-exp with the row max)": '''
def softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return np.exp(z - lse)
''',
        "a loop over rows with in-place updates of its own copy": '''
def softmax(logits):
    probs = np.array(logits, dtype=np.float64, copy=True)
    for row in probs:
        row -= row.max()
        np.exp(row, out=row)
        row /= row.sum()
    return probs
''',
        "transposed layout, normalizing columns of logits.T": '''
def softmax(logits):
    zt = np.asarray(logits, dtype=np.float64).T
    e = np.exp(zt - zt.max(axis=0))
    return (e / e.sum(axis=0)).T.copy()
''',
    },
    "cross_entropy": {
        "one-hot matrix and a loop-free log-sum-exp": '''
def cross_entropy(logits, y):
    z = np.asarray(logits, dtype=np.float64)
    n, c = z.shape
    Y = np.eye(c)[y]
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    loss = np.mean(lse - np.sum(Y * z, axis=1))
    return np.float64(loss), (softmax(z) - Y) / n
''',
        "per-example loop over rows": '''
def cross_entropy(logits, y):
    n = len(logits)
    total = 0.0
    dlogits = np.zeros(np.shape(logits))
    for i in range(n):
        row = np.asarray(logits[i], dtype=np.float64)
        m = row.max()
        e = np.exp(row - m)
        s = e.sum()
        total += np.log(s) + m - row[y[i]]
        dlogits[i] = e / s
        dlogits[i, y[i]] -= 1.0
    return total / n, dlogits / n
''',
        "np.logaddexp.reduce for the normalizer, list result": '''
def cross_entropy(logits, y):
    z = np.asarray(logits, dtype=np.float64)
    n = z.shape[0]
    lse = np.logaddexp.reduce(z, axis=1)
    picked = np.take_along_axis(z, np.asarray(y).reshape(-1, 1), axis=1)[:, 0]
    d = np.exp(z - lse[:, None])
    np.subtract.at(d, (np.arange(n), y), 1.0)
    return [float(np.sum(lse - picked) / n), d / n]
''',
    },
    "softmax_regression": {
        "einsum gradients, penalty via np.dot": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    data, G = cross_entropy(np.einsum("nd,dc->nc", X, W) + b, y)
    w = W.ravel()
    loss = data + 0.5 * reg * float(np.dot(w, w))
    dW = np.einsum("nd,nc->dc", X, G) + reg * W
    db = np.einsum("nc->c", G)
    return loss, dW, db
''',
        "bias folded into an augmented input column": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    Xa = np.hstack([X, np.ones((X.shape[0], 1))])
    Wa = np.vstack([W, b[None, :]])
    data, G = cross_entropy(Xa @ Wa, y)
    dWa = Xa.T @ G
    dW = dWa[:-1] + reg * W
    return data + reg / 2 * np.sum(W ** 2), dW, dWa[-1].copy()
''',
        "gradient accumulated in place on its own array, returns a list": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    scores = X @ W
    scores += b
    data, G = cross_entropy(scores, y)
    dW = X.T @ G
    if reg:
        dW += reg * W
    return [float(data + 0.5 * reg * (W ** 2).sum()), dW, G.sum(axis=0)]
''',
    },
    "binary_logistic": {
        "margin form with labels as -1/+1 (a new array)": '''
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    t = 2.0 * np.asarray(y, dtype=np.float64) - 1.0
    loss = np.mean(np.logaddexp(0.0, -t * s))
    g = -t * sigmoid(-t * s) / len(s)
    return float(loss), X.T @ g, float(np.sum(g))
''',
        "piecewise stable softplus, masked sigmoid": '''
def sigmoid(z):
    z = np.array(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    softplus = np.maximum(s, 0.0) + np.log1p(np.exp(-np.abs(s)))
    loss = np.mean(softplus - y * s)
    g = (sigmoid(s) - y) / X.shape[0]
    return np.float64(loss), g @ X, np.float64(g.sum())
''',
        "tanh form of the sigmoid, per-example loop for the loss": '''
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def binary_logistic_loss(w, b, X, y):
    n = X.shape[0]
    s = X @ w + b
    total = 0.0
    for i in range(n):
        total += np.logaddexp(0.0, s[i]) - float(y[i]) * s[i]
    g = (sigmoid(s) - y) / n
    return total / n, X.T @ g, g.sum()
''',
    },
    "standardize": {
        "two-pass with explicit deviations and np.sqrt of the mean square": '''
def fit_standardizer(X):
    X = np.asarray(X, dtype=np.float64)
    mean = X.sum(axis=0) / X.shape[0]
    dev = X - mean
    std = np.sqrt(np.mean(dev * dev, axis=0))
    std[std == 0.0] = 1.0
    return mean, std


def standardize(X, mean, std):
    out = np.array(X, dtype=np.float64)
    out -= mean
    out /= std
    return out
''',
        "Welford's online algorithm, one row at a time": '''
def fit_standardizer(X):
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    mean, m2 = np.zeros(d), np.zeros(d)
    for i in range(n):
        delta = X[i] - mean
        mean += delta / (i + 1)
        m2 += delta * (X[i] - mean)
    std = np.sqrt(m2 / n)
    return mean, np.where(std == 0.0, 1.0, std)


def standardize(X, mean, std):
    return np.divide(np.subtract(X, mean), std)
''',
        "column loops with Python floats, two passes": '''
def fit_standardizer(X):
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    mean, std = np.empty(d), np.empty(d)
    for j in range(d):
        col = [float(v) for v in X[:, j]]
        m = sum(col) / n
        var = sum((v - m) ** 2 for v in col) / n
        mean[j] = m
        std[j] = var ** 0.5 if var > 0 else 1.0
    return mean, std


def standardize(X, mean, std):
    return (X - mean[None, :]) * (1.0 / std)[None, :]
''',
    },
    "whitening": {
        "SVD of the centred data, with the null space of a wide X completed by hand": '''
def fit_whitening(X, eps):
    if eps <= 0:
        raise ValueError("eps must be positive")
    X = np.array(X, dtype=np.float64)
    mean = np.mean(X, axis=0)
    Xc = X - mean
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)   # Xc = U diag(s) Vt, cov = V diag(s^2 / N) Vt
    lam = s ** 2 / X.shape[0]
    V = Vt.T
    W = (V / np.sqrt(lam + eps)) @ Vt
    W += (np.eye(X.shape[1]) - V @ Vt) / np.sqrt(eps)   # directions the data never spans: eigenvalue 0
    return mean, W


def whiten(X, mean, W):
    return np.matmul(np.subtract(X, mean), W)
''',
        "torch.linalg.eigh of cov + eps I, then a loop over the eigenvectors": '''
import torch as _torch

def fit_whitening(X, eps):
    if not (eps > 0):
        raise ValueError(f"eps = {eps}: it must be > 0")
    Xt = _torch.as_tensor(np.asarray(X, dtype=np.float64))
    mean = Xt.mean(dim=0)
    C = _torch.cov(Xt.T, correction=0).reshape(Xt.shape[1], Xt.shape[1]) if Xt.shape[0] > 1 else \
        _torch.zeros(Xt.shape[1], Xt.shape[1], dtype=_torch.float64)
    lam, U = _torch.linalg.eigh(C + eps * _torch.eye(Xt.shape[1], dtype=_torch.float64))
    W = _torch.zeros_like(C)
    for k in range(len(lam)):
        W += _torch.outer(U[:, k], U[:, k]) / _torch.sqrt(lam[k])
    return mean.numpy().copy(), W.numpy().copy()


def whiten(X, mean, W):
    out = np.array(X, dtype=np.float64)
    out -= mean
    return out @ W
''',
        "covariance with np.cov(bias=True), eigenvalues clipped at 0": '''
def fit_whitening(X, eps):
    if eps <= 0.0:
        raise ValueError("eps <= 0")
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    cov = np.atleast_2d(np.cov(X, rowvar=False, bias=True)) if len(X) > 1 else np.zeros((X.shape[1], X.shape[1]))
    lam, U = np.linalg.eigh(cov)
    lam = np.maximum(lam, 0.0)
    return mean, U @ np.diag(1.0 / np.sqrt(lam + eps)) @ U.T
''',
    },
}
