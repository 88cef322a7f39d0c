"""Correct implementations of notebook 04 written differently from the reference. Each is appended
to the solution cell of its part and must earn full marks under every seed."""

ALTERNATIVES = {
    "xavier": {
        "standard normal scaled, uniform from rng.random": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((fan_in, fan_out)) * (gain * np.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.default_rng(seed)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return a * (2.0 * rng.random((fan_in, fan_out)) - 1.0)
''',
        "PCG64 generator, transposed draw, variance computed first": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.Generator(np.random.PCG64(seed))
    variance = gain ** 2 * 2.0 / (fan_in + fan_out)
    return rng.normal(loc=0.0, scale=variance ** 0.5, size=(fan_out, fan_in)).T.copy()


def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.Generator(np.random.PCG64(seed))
    sigma = gain * (2.0 / (fan_in + fan_out)) ** 0.5
    a = 3.0 ** 0.5 * sigma
    return rng.uniform(low=-a, high=a, size=fan_in * fan_out).reshape(fan_in, fan_out)
''',
        "a private torch generator in float64": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    g = torch.Generator().manual_seed(int(seed))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return (torch.randn(fan_in, fan_out, generator=g, dtype=torch.float64) * std).numpy()


def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    g = torch.Generator().manual_seed(int(seed))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return ((torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) * 2.0 - 1.0) * a).numpy()

import math
''',
        "SeedSequence and float64 numpy scalars": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    std = np.float64(gain) * np.sqrt(np.float64(2) / np.float64(fan_in + fan_out))
    W = np.empty((fan_in, fan_out))
    W[...] = rng.normal(0.0, std, size=W.shape)
    return W


def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    a = np.float64(gain) * np.sqrt(np.float64(6) / np.float64(fan_in + fan_out))
    W = rng.uniform(0.0, 1.0, size=(fan_in, fan_out))
    W *= 2 * a
    W -= a
    return W
''',
    },
    "he": {
        "if/else on the mode, standard normal scaled": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    if mode == "fan_out":
        n = fan_out
    else:
        n = fan_in
    return np.random.default_rng(seed).standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / n)


def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    if mode == "fan_out":
        n = fan_out
    else:
        n = fan_in
    a = np.sqrt(6.0 / n)
    return a * (2.0 * np.random.default_rng(seed).random((fan_in, fan_out)) - 1.0)
''',
        "a private torch generator, torch's (fan_out, fan_in) layout transposed": '''
def _fan(fan_in, fan_out, mode):
    return {"fan_in": fan_in, "fan_out": fan_out}[mode]


def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    g = torch.Generator().manual_seed(int(seed))
    w = torch.randn(fan_out, fan_in, generator=g, dtype=torch.float64) * (2.0 / _fan(fan_in, fan_out, mode)) ** 0.5
    return w.T.contiguous().numpy()


def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    g = torch.Generator().manual_seed(int(seed))
    a = (6.0 / _fan(fan_in, fan_out, mode)) ** 0.5
    w = torch.empty(fan_out, fan_in, dtype=torch.float64).uniform_(-a, a, generator=g)
    return w.T.contiguous().numpy()
''',
        "variance first, the uniform limit as sqrt(3) * std": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_out if mode == "fan_out" else fan_in
    rng = np.random.Generator(np.random.PCG64(seed))
    var = 2.0 / n
    return rng.normal(size=(fan_in, fan_out), scale=var ** 0.5)


def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_out if mode == "fan_out" else fan_in
    rng = np.random.Generator(np.random.PCG64(seed))
    std = (2.0 / n) ** 0.5
    return rng.uniform(-np.sqrt(3.0) * std, np.sqrt(3.0) * std, size=(fan_in, fan_out))
''',
    },
    "symmetry": {
        "double loop over pairs, Python comparisons": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    H = W1.shape[1]
    units = [list(W1[:, j]) + [b1[j]] + list(W2[j]) for j in range(H)]
    labels = []
    for j in range(H):
        for i in range(j + 1):
            if all(abs(a - b) <= atol for a, b in zip(units[i], units[j])):
                labels.append(i)
                break
    return np.array(labels, dtype=int)


def symmetry_broken(W1, b1, W2, atol=0.0):
    labels = duplicate_units(W1, b1, W2, atol)
    return len(set(labels.tolist())) == len(labels)
''',
        "np.isclose with rtol = 0, first match by np.nonzero": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.hstack([W1.T, b1.reshape(-1, 1), W2])
    labels = np.empty(units.shape[0], dtype=np.int64)
    for j in range(units.shape[0]):
        close = np.all(np.isclose(units[: j + 1], units[j], rtol=0.0, atol=atol), axis=1)
        labels[j] = np.nonzero(close)[0][0]
    return labels


def symmetry_broken(W1, b1, W2, atol=0.0):
    return bool(np.array_equal(duplicate_units(W1, b1, W2, atol), np.arange(W1.shape[1])))
''',
        "three separate pairwise comparisons combined": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    same_in = np.all(np.abs(W1[:, :, None] - W1[:, None, :]) <= atol, axis=0)
    same_b = np.abs(b1[:, None] - b1[None, :]) <= atol
    same_out = np.all(np.abs(W2[:, None, :] - W2[None, :, :]) <= atol, axis=2)
    same = same_in & same_b & same_out
    H = len(b1)
    return np.array([min(i for i in range(H) if same[i, j]) for j in range(H)])


def symmetry_broken(W1, b1, W2, atol=0.0):
    labels = duplicate_units(W1, b1, W2, atol)
    return not np.any(labels != np.arange(len(labels)))
''',
    },
}
