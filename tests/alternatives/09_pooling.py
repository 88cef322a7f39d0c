"""Correct implementations of notebook 09's parts, written differently from the reference: loops over
kernel offsets instead of a sliding-window view, fancy indexing, np.bincount instead of np.add.at,
caches of other shapes (dicts, lists, the input itself), separable matrix products. Each is appended to
its part's solution cell and must earn full marks under every seed."""

ALTERNATIVES = {
    "pool_windows": {
        "a loop over the kernel offsets, padding by assignment into np.full": '''
def pool_output_size(size, kernel, stride, pad):
    return int((size + 2 * pad - kernel) // stride) + 1


def pool_windows(x, kernel, stride, pad, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.full((N, C, H + 2 * ph, W + 2 * pw), float(pad_value))
    xp[:, :, ph:ph + H, pw:pw + W] = x
    out = np.empty((N, C, ho, wo, kh, kw))
    for i in range(kh):
        for j in range(kw):
            out[..., i, j] = xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return out
''',
        "fancy indexing with row and column index grids": '''
def pool_windows(x, kernel, stride, pad, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    H, W = x.shape[2:]
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], mode="constant", constant_values=pad_value)
    rows = (np.arange(ho) * sh)[:, None] + np.arange(kh)[None, :]     # (ho, kh)
    cols = (np.arange(wo) * sw)[:, None] + np.arange(kw)[None, :]     # (wo, kw)
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]   # (N, C, ho, wo, kh, kw)
''',
        "as_strided on the padded copy, then a copy": '''
def pool_windows(x, kernel, stride, pad, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    ho, wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value))
    s0, s1, s2, s3 = xp.strides
    view = np.lib.stride_tricks.as_strided(xp, shape=(N, C, ho, wo, kh, kw),
                                           strides=(s0, s1, s2 * sh, s3 * sw, s2, s3), writeable=False)
    return view.copy()
''',
    },
    "max_pool_forward": {
        "max over the windows, argmax kept separately, the cache a list": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    win = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, ho, wo = win.shape[:4]
    out = win.max(axis=(4, 5))
    return out, [x.shape, kernel, stride, pad, win.reshape(N, C, ho, wo, -1).argmax(axis=-1)]
''',
        "running np.maximum over the kernel offsets, no window array": '''
def max_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    N, C, H, W = x.shape
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.full((N, C, ho, wo), -np.inf)
    best = np.zeros((N, C, ho, wo), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            cand = xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            better = cand > out          # strict: an equal later value does not take over
            out = np.where(better, cand, out)
            best = np.where(better, i * kw + j, best)
    return out, (x.shape, (kh, kw), (sh, sw), (ph, pw), best)
''',
        "take_along_axis on the flattened windows": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    win = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, ho, wo, kh, kw = win.shape
    flat = win.reshape(N, C, ho, wo, kh * kw)
    am = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, am[..., None], axis=-1).squeeze(-1)
    return out, (tuple(x.shape), tuple(kernel), tuple(stride), tuple(pad), am)
''',
    },
    "max_pool_backward": {
        "np.bincount on flat indices of the padded map": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    ho, wo = argmax.shape[2:]
    r = np.arange(ho)[None, None, :, None] * sh + argmax // kw
    c = np.arange(wo)[None, None, None, :] * sw + argmax % kw
    plane = (np.arange(N)[:, None, None, None] * C + np.arange(C)[None, :, None, None]) * Hp * Wp
    idx = np.broadcast_to(plane + r * Wp + c, dout.shape)
    dxp = np.bincount(idx.ravel(), weights=dout.ravel(), minlength=N * C * Hp * Wp).reshape(N, C, Hp, Wp)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "one-hot winners scattered by a loop over the kernel offsets": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    ho, wo = argmax.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            routed = dout * (argmax == i * kw + j)
            dxp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += routed
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    return np.array(dx)
''',
        "positions in x computed with np.unravel_index, np.add.at on x's shape": '''
def max_pool_backward(dout, cache):
    x_shape, kernel, stride, pad, argmax = cache
    N, C, H, W = x_shape
    ho, wo = argmax.shape[2:]
    i_star, j_star = np.unravel_index(argmax, kernel)
    a, b = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    rows = a * stride[0] + i_star - pad[0]
    cols = b * stride[1] + j_star - pad[1]
    dx = np.zeros((N, C, H, W), dtype=np.float64)
    n = np.arange(N)[:, None, None, None] + np.zeros_like(rows)
    c = np.arange(C)[None, :, None, None] + np.zeros_like(rows)
    np.add.at(dx, (n.ravel(), c.ravel(), rows.ravel(), cols.ravel()), dout.ravel())
    return dx
''',
        "forward and backward: a dict cache holding the input, argmax recomputed": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    out = pool_windows(x, kernel, stride, pad, -np.inf).max(axis=(4, 5))
    return out, {"x": x, "kernel": kernel, "stride": stride, "pad": pad}


def max_pool_backward(dout, cache):
    x, (kh, kw), (sh, sw), (ph, pw) = cache["x"], cache["kernel"], cache["stride"], cache["pad"]
    N, C, H, W = x.shape
    win = pool_windows(x, (kh, kw), (sh, sw), (ph, pw), -np.inf)
    ho, wo = win.shape[2:4]
    first = np.argmax(win.reshape(N, C, ho, wo, -1), axis=-1)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for k in range(kh * kw):
        i, j = divmod(k, kw)
        dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += np.where(first == k, dout, 0.0)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "forward and backward: running np.maximum, np.bincount, a list cache": '''
def max_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    N, C, H, W = x.shape
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.full((N, C, ho, wo), -np.inf)
    best = np.zeros((N, C, ho, wo), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            cand = xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            better = cand > out          # strict: an equal later value does not take over
            out = np.where(better, cand, out)
            best = np.where(better, i * kw + j, best)
    return out, [list(x.shape), [kh, kw], [sh, sw], [ph, pw], best]


def max_pool_backward(dout, cache):
    shape, (kh, kw), (sh, sw), (ph, pw), best = cache
    N, C, H, W = shape
    ho, wo = best.shape[2:]
    r = np.arange(ho)[:, None] * sh + best // kw - ph
    c = np.arange(wo)[None, :] * sw + best % kw - pw
    flat = ((np.arange(N)[:, None, None, None] * C + np.arange(C)[None, :, None, None]) * H + r) * W + c
    return np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * H * W).reshape(N, C, H, W)
''',
        "forward and backward: unravelled winner positions in the cache": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    win = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, ho, wo, kh, kw = win.shape
    flat = win.reshape(N, C, ho, wo, kh * kw)
    am = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, am[..., None], axis=-1).squeeze(-1)
    i_star, j_star = np.unravel_index(am, (kh, kw))
    return out, (x.shape, stride, pad, i_star, j_star)


def max_pool_backward(dout, cache):
    shape, (sh, sw), (ph, pw), i_star, j_star = cache
    N, C, H, W = shape
    ho, wo = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    n = np.arange(N).reshape(-1, 1, 1, 1)
    c = np.arange(C).reshape(1, -1, 1, 1)
    rows = np.arange(ho).reshape(1, 1, -1, 1) * sh + i_star
    cols = np.arange(wo).reshape(1, 1, 1, -1) * sw + j_star
    np.add.at(dxp, (n, c, rows, cols), dout)
    return dxp[:, :, ph:H + ph, pw:W + pw].copy()
''',
        },
    "avg_pool_forward": {
        "a sum of strided slices over the kernel offsets": '''
def avg_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    N, C, H, W = x.shape
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    total = np.zeros((N, C, ho, wo))
    for i in range(kh):
        for j in range(kw):
            total += xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return total / (kh * kw), (x.shape, (kh, kw), (sh, sw), (ph, pw))
''',
        "a tensordot of the windows with a uniform kernel": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    win = pool_windows(x, kernel, stride, pad, 0.0)
    weights = np.full(kernel, 1.0 / (kernel[0] * kernel[1]))
    return np.tensordot(win, weights, axes=([4, 5], [0, 1])), (x.shape, kernel, stride, pad)
''',
        "window sums divided by the window size, the cache a list": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    win = pool_windows(x, kernel, stride, pad, 0.0)
    out = win.sum(axis=-1).sum(axis=-1) / float(kernel[0] * kernel[1])
    return out, [x.shape, kernel, stride, pad]
''',
    },
    "avg_pool_backward": {
        "np.add.at with index grids of every window entry": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    ho, wo = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    rows = (np.arange(ho) * sh)[:, None, None, None] + np.arange(kh)[None, None, :, None]  # (ho, 1, kh, 1)
    cols = (np.arange(wo) * sw)[None, :, None, None] + np.arange(kw)[None, None, None, :]  # (1, wo, 1, kw)
    vals = np.broadcast_to((dout / (kh * kw))[..., None, None], (N, C, ho, wo, kh, kw))
    np.add.at(dxp, (slice(None), slice(None), rows, cols), vals)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "separable: two 0/1 cover matrices, one per axis": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    ho, wo = dout.shape[2:]
    r = np.arange(H)[:, None] + ph - sh * np.arange(ho)[None, :]   # offset of row r in window a
    c = np.arange(W)[:, None] + pw - sw * np.arange(wo)[None, :]
    Mh = ((r >= 0) & (r < kh)).astype(np.float64)                   # (H, ho)
    Mw = ((c >= 0) & (c < kw)).astype(np.float64)                   # (W, wo)
    return np.einsum("ra,ncab,qb->ncrq", Mh, dout, Mw, optimize=True) / (kh * kw)
''',
        "np.bincount over the flat indices of the padded map": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    ho, wo = dout.shape[2:]
    rows = np.arange(ho)[:, None, None, None] * sh + np.arange(kh)[None, None, :, None]
    cols = np.arange(wo)[None, :, None, None] * sw + np.arange(kw)[None, None, None, :]
    within = rows * Wp + cols                                        # (ho, wo, kh, kw)
    plane = (np.arange(N * C) * Hp * Wp).reshape(N, C, 1, 1, 1, 1)
    idx = plane + within[None, None]
    vals = np.repeat(np.repeat(dout[..., None, None], kh, axis=4), kw, axis=5) / (kh * kw)
    dxp = np.bincount(idx.ravel(), weights=vals.ravel(), minlength=N * C * Hp * Wp)
    return dxp.reshape(N, C, Hp, Wp)[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "forward and backward: strided slices, a dict cache": '''
def avg_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    N, C, H, W = x.shape
    ho, wo = pool_output_size(H, kh, sh, ph), pool_output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    total = np.zeros((N, C, ho, wo))
    for i in range(kh):
        for j in range(kw):
            total += xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return total / (kh * kw), {"shape": x.shape, "sizes": [(kh, kw), (sh, sw), (ph, pw)]}


def avg_pool_backward(dout, cache):
    N, C, H, W = cache["shape"]
    (kh, kw), (sh, sw), (ph, pw) = cache["sizes"]
    ho, wo = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += dout
    return dxp[:, :, ph:ph + H, pw:pw + W] / (kh * kw)
''',
    },
    "global_avg_pool": {
        "sum divided by H * W, backward by multiplying a block of ones": '''
def global_avg_pool_forward(x):
    N, C, H, W = x.shape
    return x.sum(axis=(2, 3)).reshape(N, C, 1, 1) / (H * W), (N, C, H, W)


def global_avg_pool_backward(dout, cache):
    N, C, H, W = cache
    return dout * np.ones((N, C, H, W)) / (H * W)
''',
        "flattened positions and np.repeat, the cache a dict": '''
def global_avg_pool_forward(x):
    N, C = x.shape[:2]
    return x.reshape(N, C, -1).mean(axis=-1)[:, :, None, None], {"hw": list(x.shape[2:])}


def global_avg_pool_backward(dout, cache):
    H, W = cache["hw"]
    share = dout / (H * W)
    return np.repeat(np.repeat(share, H, axis=2), W, axis=3)
''',
        "einsum forward, np.tile backward, the cache the input itself": '''
def global_avg_pool_forward(x):
    H, W = x.shape[2:]
    return np.einsum("nchw->nc", x)[:, :, None, None] * (1.0 / (H * W)), x


def global_avg_pool_backward(dout, cache):
    H, W = cache.shape[2:]
    return np.tile(dout / (H * W), (1, 1, H, W))
''',
    },
    "fractional_pool_starts": {
        "a list comprehension with int() truncation, as in torch's C++ loop": '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if not (kernel >= 1 and n_out >= 1 and n_out + kernel - 1 <= n_in):
        raise ValueError("the windows do not fit")
    if n_out == 1:
        return np.array([n_in - kernel])
    alpha = (n_in - kernel) / (n_out - 1)
    return np.array([int((i + u) * alpha) - int(u * alpha) for i in range(n_out - 1)] + [n_in - kernel])
''',
        'math.floor in a loop, an int32 array filled in place': '''
import math

def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1:
        raise ValueError("kernel must be at least 1")
    if n_out < 1 or n_in - kernel + 1 < n_out:
        raise ValueError("too many windows")
    out = np.full(n_out, n_in - kernel, dtype=np.int32)
    if n_out > 1:
        alpha = float(n_in - kernel) / float(n_out - 1)
        offset = math.floor(u * alpha)
        for i in range(n_out - 1):
            out[i] = math.floor((i + u) * alpha) - offset
    return out
''',
        'floor division by 1 on a float64 range, then astype': '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if min(kernel, n_out) < 1 or n_out + kernel - 1 > n_in:
        raise ValueError(f"cannot place {n_out} windows of {kernel} in {n_in}")
    alpha = (n_in - kernel) / max(n_out - 1, 1)
    i = np.arange(n_out, dtype=np.float64)
    s = ((i + u) * alpha) // 1 - (u * alpha) // 1
    s[-1] = n_in - kernel
    return s.astype(np.int64)
''',
    },
    "fractional_max_pool_forward": {
        'a loop over the planes, windows by broadcast index grids, winners by take_along_axis': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    kh, kw = (kernel, kernel) if np.isscalar(kernel) else tuple(kernel)
    ho, wo = (output_size, output_size) if np.isscalar(output_size) else tuple(output_size)
    N, C, H, W = x.shape
    out = np.empty((N, C, ho, wo))
    win_r = np.empty((N, C, ho, wo), dtype=np.int64)
    win_c = np.empty((N, C, ho, wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            r = fractional_pool_starts(H, ho, kh, samples[n, c, 1])[:, None] + np.arange(kh)   # (ho, kh)
            q = fractional_pool_starts(W, wo, kw, samples[n, c, 0])[:, None] + np.arange(kw)   # (wo, kw)
            win = x[n, c][r[:, None, :, None], q[None, :, None, :]].reshape(ho, wo, kh * kw)
            am = win.argmax(axis=-1)
            out[n, c] = np.take_along_axis(win, am[..., None], -1)[..., 0]
            rows = np.take_along_axis(np.broadcast_to(r[:, None, :, None], (ho, wo, kh, kw)).reshape(ho, wo, -1),
                                      am[..., None], -1)[..., 0]
            cols = np.take_along_axis(np.broadcast_to(q[None, :, None, :], (ho, wo, kh, kw)).reshape(ho, wo, -1),
                                      am[..., None], -1)[..., 0]
            win_r[n, c], win_c[n, c] = rows, cols
    return out, (x.shape, win_r, win_c)
''',
        'a running maximum over the kernel offsets (strict > keeps the first), the cache a list': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    kh, kw = [int(v) for v in np.broadcast_to(kernel, (2,))]
    ho, wo = [int(v) for v in np.broadcast_to(output_size, (2,))]
    N, C, H, W = x.shape
    rs = np.stack([np.stack([fractional_pool_starts(H, ho, kh, float(samples[n, c, 1])) for c in range(C)])
                   for n in range(N)])                     # (N, C, ho)
    cs = np.stack([np.stack([fractional_pool_starts(W, wo, kw, float(samples[n, c, 0])) for c in range(C)])
                   for n in range(N)])                     # (N, C, wo)
    nn = np.arange(N)[:, None, None, None]
    cc = np.arange(C)[None, :, None, None]
    best = np.full((N, C, ho, wo), -np.inf)
    bi = np.zeros((N, C, ho, wo), dtype=np.int64)
    bj = np.zeros((N, C, ho, wo), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            cand = x[nn, cc, rs[:, :, :, None] + i, cs[:, :, None, :] + j]
            better = cand > best
            best = np.where(better, cand, best)
            bi = np.where(better, rs[:, :, :, None] + i, bi)
            bj = np.where(better, cs[:, :, None, :] + j, bj)
    return best, [x.shape, bi, bj]  # the order of the notebook's cache, as a list
''',
    },
    "fractional_max_pool_backward": {
        'the cache keeps x and the samples; the backward pass recomputes the winners': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    out, _ = _good_fractional_forward(x, kernel, output_size, samples)
    return out, (x.copy(), kernel, output_size, samples.copy())


def fractional_max_pool_backward(dout, cache):
    x, kernel, output_size, samples = cache
    _, (shape, rows, cols) = _good_fractional_forward(x, kernel, output_size, samples)
    N, C, H, W = shape
    flat = ((np.arange(N)[:, None, None, None] * C + np.arange(C)[None, :, None, None]) * H + rows) * W + cols
    return np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * H * W).reshape(shape)
''',
        'a one-hot mask of the winners, summed over the windows by a loop over kernel offsets': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    kh, kw = (int(kernel),) * 2 if np.isscalar(kernel) else map(int, kernel)
    ho, wo = (int(output_size),) * 2 if np.isscalar(output_size) else map(int, output_size)
    N, C, H, W = x.shape
    rs = np.array([[fractional_pool_starts(H, ho, kh, samples[n, c, 1]) for c in range(C)] for n in range(N)])
    cs = np.array([[fractional_pool_starts(W, wo, kw, samples[n, c, 0]) for c in range(C)] for n in range(N)])
    rs, cs = rs.reshape(N, C, ho), cs.reshape(N, C, wo)
    nn, cc = np.ogrid[:N, :C]
    win = x[nn[..., None, None, None, None], cc[..., None, None, None, None],
            (rs[..., None] + np.arange(kh))[:, :, :, None, :, None], (cs[..., None] + np.arange(kw))[:, :, None, :, None, :]]
    flat = win.reshape(N, C, ho, wo, kh * kw)
    onehot = np.eye(kh * kw)[flat.argmax(-1)].reshape(N, C, ho, wo, kh, kw)
    return flat.max(-1), {"shape": x.shape, "rows": rs, "cols": cs, "onehot": onehot}


def fractional_max_pool_backward(dout, cache):
    N, C, H, W = cache["shape"]
    rs, cs, onehot = cache["rows"], cache["cols"], cache["onehot"]
    kh, kw = onehot.shape[-2:]
    dx = np.zeros((N, C, H, W))
    nn, cc = np.ogrid[:N, :C]
    for i in range(kh):
        for j in range(kw):
            np.add.at(dx, (nn[..., None, None], cc[..., None, None], rs[:, :, :, None] + i, cs[:, :, None, :] + j),
                      onehot[..., i, j] * dout)
    return dx
''',
    },
}
