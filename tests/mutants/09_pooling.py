"""Plausible wrong implementations for notebook 09. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# The poolings are built on pool_windows, and the backward passes are checked end to end,
# backward(dout, forward(...)[1]): a broken helper or forward pass legitimately breaks them too.
DEPENDS = {
    "max_pool_forward": ["pool_windows"],
    "max_pool_backward": ["max_pool_forward", "pool_windows"],
    "avg_pool_forward": ["pool_windows"],
    "avg_pool_backward": ["avg_pool_forward", "pool_windows"],
    "fractional_max_pool_forward": ["fractional_pool_starts"],
    "fractional_max_pool_backward": ["fractional_max_pool_forward", "fractional_pool_starts"],
}

MUTANTS = {
    "pool_windows": {
        "output size rounded up (a last partial window is kept)": '''
def pool_output_size(size, kernel, stride, pad):
    return -(-(size + 2 * pad - kernel) // stride) + 1
''',
        "output size ignores the padding": '''
def pool_output_size(size, kernel, stride, pad):
    return (size - kernel) // stride + 1
''',
        "always pads with zeros": '''
_good_pool_windows = pool_windows
def pool_windows(x, kernel, stride, pad, pad_value):
    return _good_pool_windows(x, kernel, stride, pad, 0.0)
''',
        "stride pair read as (width, height)": '''
_good_pool_windows = pool_windows
def pool_windows(x, kernel, stride, pad, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    h_out, w_out = pool_output_size(H, kh, sw, ph), pool_output_size(W, kw, sh, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    view = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.ascontiguousarray(view[:, :, ::sw, ::sh][:, :, :h_out, :w_out])
''',
        "returns the sliding-window view itself when there is no padding": '''
_good_pool_windows = pool_windows
def pool_windows(x, kernel, stride, pad, pad_value):
    if tuple(pad) != (0, 0):
        return _good_pool_windows(x, kernel, stride, pad, pad_value)
    (kh, kw), (sh, sw) = kernel, stride
    h_out, w_out = pool_output_size(x.shape[2], kh, sh, 0), pool_output_size(x.shape[3], kw, sw, 0)
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return view[:, :, ::sh, ::sw][:, :, :h_out, :w_out]
''',
    },
    "max_pool_forward": {
        "pads with zeros instead of -inf": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, stride, pad, 0.0)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, stride, pad, argmax)
''',
        "stride ignored (always the kernel)": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, kernel, pad, -np.inf)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, kernel, pad, argmax)
''',
        "kernel read as (width, height)": '''
def max_pool_forward(x, pool_param):
    (kh, kw), stride, pad = pool_sizes(pool_param)
    kernel = (kw, kh)
    windows = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, h_out, w_out, a, b = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, a * b)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, stride, pad, argmax)
''',
        "kernel 1 shortcut returns x itself": '''
_good_max_pool_forward = max_pool_forward
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    if kernel == (1, 1) and stride == (1, 1):
        return x, (x.shape, kernel, stride, pad, np.zeros(x.shape, dtype=np.int64))
    return _good_max_pool_forward(x, pool_param)
''',
        "writes the defaults into pool_param": '''
_good_max_pool_forward = max_pool_forward
def max_pool_forward(x, pool_param):
    pool_param.setdefault("stride", pool_param["kernel"])
    pool_param.setdefault("pad", 0)
    return _good_max_pool_forward(x, pool_param)
''',
    },
    "max_pool_backward": {
        "assignment instead of accumulation (overlapping windows lose gradient)": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    i_star, j_star = np.divmod(argmax, kw)
    rows = np.arange(h_out)[None, None, :, None] * sh + i_star - ph
    cols = np.arange(w_out)[None, None, None, :] * sw + j_star - pw
    dx = np.zeros(x_shape)
    dx[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols] = dout
    return dx
''',
        "winner position decoded with the kernel height": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    i_star, j_star = np.divmod(argmax, kh)
    rows = np.clip(np.arange(h_out)[None, None, :, None] * sh + i_star - ph, 0, H - 1)
    cols = np.clip(np.arange(w_out)[None, None, None, :] * sw + j_star - pw, 0, W - 1)
    dx = np.zeros(x_shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
''',
        "gradient spread over the window like average pooling": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "ties go to the last maximum of the window": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = kh * kw - 1 - np.argmax(flat[..., ::-1], axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, stride, pad, argmax)
''',
        "tied maxima share the window's gradient": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    return pool_windows(x, kernel, stride, pad, -np.inf).max(axis=(-2, -1)), (x, kernel, stride, pad)

def max_pool_backward(dout, cache):
    x, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    win = pool_windows(x, (kh, kw), (sh, sw), (ph, pw), -np.inf)
    mask = win == win.max(axis=(-2, -1), keepdims=True)
    share = mask / mask.sum(axis=(-2, -1), keepdims=True) * dout[..., None, None]
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += share[..., i, j]
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "every tied maximum gets the whole gradient (a mask of the maximum)": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    return pool_windows(x, kernel, stride, pad, -np.inf).max(axis=(-2, -1)), (x, kernel, stride, pad)

def max_pool_backward(dout, cache):
    x, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    win = pool_windows(x, (kh, kw), (sh, sw), (ph, pw), -np.inf)
    mask = win == win.max(axis=(-2, -1), keepdims=True)
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += mask[..., i, j] * dout
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "sizes read from a global set by the last forward pass": '''
_LAST_SIZES = {}
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = np.argmax(flat, axis=-1)
    _LAST_SIZES.update(kernel=kernel, stride=stride, pad=pad)
    return flat.max(axis=-1), (x.shape, argmax)

def max_pool_backward(dout, cache):
    x_shape, argmax = cache
    (kh, kw), (sh, sw), (ph, pw) = _LAST_SIZES["kernel"], _LAST_SIZES["stride"], _LAST_SIZES["pad"]
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    i_star, j_star = np.divmod(argmax, kw)
    rows = np.clip(np.arange(h_out)[None, None, :, None] * sh + i_star - ph, 0, H - 1)
    cols = np.clip(np.arange(w_out)[None, None, None, :] * sw + j_star - pw, 0, W - 1)
    dx = np.zeros(x_shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
''',
        "rewrites the cache's argmax in place": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    j_star = argmax % kw
    i_star = argmax
    i_star //= kw                     # in place: the cache's argmax now holds rows
    rows = np.arange(h_out)[None, None, :, None] * sh + i_star - ph
    cols = np.arange(w_out)[None, None, None, :] * sw + j_star - pw
    dx = np.zeros(x_shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
''',
    },
    "avg_pool_forward": {
        "divides by the number of real entries (count_include_pad=False)": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    sums = pool_windows(x, kernel, stride, pad, 0.0).sum(axis=(-2, -1))
    counts = pool_windows(np.ones((1, 1) + x.shape[2:]), kernel, stride, pad, 0.0).sum(axis=(-2, -1))
    return sums / counts, (x.shape, kernel, stride, pad)
''',
        "pads by repeating the border values": '''
def avg_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="edge")
    out = pool_windows(xp, (kh, kw), (sh, sw), (0, 0), 0.0).mean(axis=(-2, -1))
    return out, (x.shape, (kh, kw), (sh, sw), (ph, pw))
''',
        "sum instead of mean": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    return pool_windows(x, kernel, stride, pad, 0.0).sum(axis=(-2, -1)), (x.shape, kernel, stride, pad)
''',
    },
    "avg_pool_backward": {
        "gradient not divided by the window size": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "overwrites instead of adding where windows overlap": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] = dout / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "padding cropped from the wrong side": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout / (kh * kw)
    return dxp[:, :, :H, :W].copy()
''',
        "dout divided in place": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dout /= kh * kw
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "window sizes read from a global set by the last forward pass": '''
_AVG_SIZES = []
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    _AVG_SIZES[:] = [kernel, stride, pad]
    return pool_windows(x, kernel, stride, pad, 0.0).mean(axis=(-2, -1)), x.shape

def avg_pool_backward(dout, cache):
    N, C, H, W = cache
    (kh, kw), (sh, sw), (ph, pw) = _AVG_SIZES
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw][:, :, :h_out, :w_out] += dout / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
    },
    "global_avg_pool": {
        "output of shape (N, C) instead of (N, C, 1, 1)": '''
def global_avg_pool_forward(x):
    return x.mean(axis=(2, 3)), x.shape
''',
        "backward not divided by the number of positions": '''
def global_avg_pool_backward(dout, cache):
    return np.broadcast_to(dout, cache).copy()
''',
        "averages over the channels too": '''
def global_avg_pool_forward(x):
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.broadcast_to(m, (x.shape[0], x.shape[1], 1, 1)).copy(), x.shape
''',
        "backward returns a read-only broadcast view": '''
def global_avg_pool_backward(dout, cache):
    N, C, H, W = cache
    return np.broadcast_to(dout / (H * W), (N, C, H, W))
''',
        "spatial size read from a global set by the last forward pass": '''
_GAP_HW = [1, 1]
def global_avg_pool_forward(x):
    _GAP_HW[:] = x.shape[2:]
    return x.mean(axis=(2, 3), keepdims=True), None

def global_avg_pool_backward(dout, cache):
    H, W = _GAP_HW
    return np.repeat(np.repeat(dout / (H * W), H, axis=2), W, axis=3)
''',
    },
    "fractional_pool_starts": {
        "ceil instead of floor (Graham's a_i = ceil(alpha (i + u)))": '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in:
        raise ValueError("windows do not fit")
    starts = np.empty(n_out, dtype=np.int64)
    starts[-1] = n_in - kernel
    if n_out > 1:
        alpha = (n_in - kernel) / (n_out - 1)
        i = np.arange(n_out - 1)
        starts[:-1] = np.ceil((i + u) * alpha) - np.ceil(u * alpha)
    return starts
''',
        "ratio n_in / n_out (Graham's alpha) instead of (n_in - kernel) / (n_out - 1)": '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in:
        raise ValueError("windows do not fit")
    alpha = n_in / n_out
    starts = np.floor((np.arange(n_out) + u) * alpha) - np.floor(u * alpha)
    starts = np.minimum(starts, n_in - kernel).astype(np.int64)
    starts[-1] = n_in - kernel
    return starts
''',
        'the offset floor(u * alpha) is not subtracted (the first window may not start at 0)': '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in:
        raise ValueError("windows do not fit")
    starts = np.empty(n_out, dtype=np.int64)
    starts[-1] = n_in - kernel
    if n_out > 1:
        alpha = (n_in - kernel) / (n_out - 1)
        starts[:-1] = np.minimum(np.floor((np.arange(n_out - 1) + u) * alpha), n_in - kernel)
    return starts
''',
        'rounds to the nearest integer instead of the floor': '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in:
        raise ValueError("windows do not fit")
    starts = np.empty(n_out, dtype=np.int64)
    starts[-1] = n_in - kernel
    if n_out > 1:
        alpha = (n_in - kernel) / (n_out - 1)
        i = np.arange(n_out - 1)
        starts[:-1] = np.round((i + u) * alpha) - np.round(u * alpha)
    return starts
''',
        'the sample ignored (always u = 0)': '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in:
        raise ValueError("windows do not fit")
    starts = np.empty(n_out, dtype=np.int64)
    starts[-1] = n_in - kernel
    if n_out > 1:
        alpha = (n_in - kernel) / (n_out - 1)
        starts[:-1] = np.floor(np.arange(n_out - 1) * alpha)
    return starts
''',
        'a single window starts at 0': '''
_good_starts = fractional_pool_starts
def fractional_pool_starts(n_in, n_out, kernel, u):
    if n_out == 1 and kernel >= 1 and n_in >= kernel:
        return np.zeros(1, dtype=np.int64)
    return _good_starts(n_in, n_out, kernel, u)
''',
        'no ValueError when the windows do not fit (off by one in the test)': '''
def fractional_pool_starts(n_in, n_out, kernel, u):
    if kernel < 1 or n_out < 1 or n_out + kernel - 1 > n_in + 1:
        raise ValueError("windows do not fit")
    starts = np.empty(n_out, dtype=np.int64)
    starts[-1] = n_in - kernel
    if n_out > 1:
        alpha = (n_in - kernel) / (n_out - 1)
        i = np.arange(n_out - 1)
        starts[:-1] = np.floor((i + u) * alpha) - np.floor(u * alpha)
    return np.maximum(starts, 0)
''',
    },
    "fractional_max_pool_forward": {
        'samples read as (height, width)': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    return _good_fractional_forward(x, kernel, output_size, np.ascontiguousarray(samples[..., ::-1]))
''',
        'one division for all planes (the samples of plane (0, 0))': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    return _good_fractional_forward(x, kernel, output_size, np.broadcast_to(samples[:1, :1], samples.shape).copy())
''',
        'kernel pair read as (width, height)': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    k = kernel if np.isscalar(kernel) else (kernel[1], kernel[0])
    return _good_fractional_forward(x, k, output_size, samples)
''',
        'windows one row and column too small (kernel - 1)': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    def pair(v):
        return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))
    (kh, kw), (h_out, w_out) = pair(kernel), pair(output_size)
    N, C, H, W = x.shape
    out = np.empty((N, C, h_out, w_out))
    for n in range(N):
        for c in range(C):
            rows = fractional_pool_starts(H, h_out, kh, float(samples[n, c, 1]))
            cols = fractional_pool_starts(W, w_out, kw, float(samples[n, c, 0]))
            r = rows[:, None] + np.arange(max(kh - 1, 1))
            q = cols[:, None] + np.arange(max(kw - 1, 1))
            out[n, c] = x[n, c][r[:, None, :, None], q[None, :, None, :]].max(axis=(-2, -1))
    return out, (x.shape,)
''',
        'swaps the samples to (height, width) in place': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    samples[...] = samples[..., ::-1].copy()   # "height first", in the caller's array
    return _good_fractional_forward(x, kernel, output_size, samples[..., ::-1])
''',
        'output size pair read as (width, height)': '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    o = output_size if np.isscalar(output_size) else (output_size[1], output_size[0])
    return _good_fractional_forward(x, kernel, o, samples)
''',
    },
    "fractional_max_pool_backward": {
        'assignment instead of accumulation (windows sharing a winner lose gradient)': '''
def fractional_max_pool_backward(dout, cache):
    x_shape, win_rows, win_cols = cache
    N, C = x_shape[:2]
    dx = np.zeros(x_shape)
    dx[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], win_rows, win_cols] = dout
    return dx
''',
        'ties go to the last maximum of the window': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    def pair(v):
        return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))
    (kh, kw), (h_out, w_out) = pair(kernel), pair(output_size)
    N, C, H, W = x.shape
    rows = np.array([[fractional_pool_starts(H, h_out, kh, float(samples[n, c, 1])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, h_out)
    cols = np.array([[fractional_pool_starts(W, w_out, kw, float(samples[n, c, 0])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, w_out)
    r = rows[..., None] + np.arange(kh)
    q = cols[..., None] + np.arange(kw)
    win = x[np.arange(N)[:, None, None, None, None, None], np.arange(C)[None, :, None, None, None, None],
            r[:, :, :, None, :, None], q[:, :, None, :, None, :]]
    flat = win.reshape(N, C, h_out, w_out, kh * kw)
    am = kh * kw - 1 - np.argmax(flat[..., ::-1], axis=-1)
    i_star, j_star = np.divmod(am, kw)
    return flat.max(axis=-1), (x.shape, rows[:, :, :, None] + i_star, cols[:, :, None, :] + j_star)
''',
        'every tied maximum gets the whole gradient': '''
def fractional_max_pool_forward(x, kernel, output_size, samples):
    def pair(v):
        return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))
    (kh, kw), (h_out, w_out) = pair(kernel), pair(output_size)
    N, C, H, W = x.shape
    rows = np.array([[fractional_pool_starts(H, h_out, kh, float(samples[n, c, 1])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, h_out)
    cols = np.array([[fractional_pool_starts(W, w_out, kw, float(samples[n, c, 0])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, w_out)
    r = rows[..., None] + np.arange(kh)
    q = cols[..., None] + np.arange(kw)
    win = x[np.arange(N)[:, None, None, None, None, None], np.arange(C)[None, :, None, None, None, None],
            r[:, :, :, None, :, None], q[:, :, None, :, None, :]]
    out = win.max(axis=(-2, -1))
    return out, (x.shape, r, q, win == out[..., None, None])

def fractional_max_pool_backward(dout, cache):
    x_shape, r, q, mask = cache
    N, C = x_shape[:2]
    dx = np.zeros(x_shape)
    vals = mask * dout[..., None, None]
    np.add.at(dx, (np.arange(N)[:, None, None, None, None, None], np.arange(C)[None, :, None, None, None, None],
                   r[:, :, :, None, :, None], q[:, :, None, :, None, :]), vals)
    return dx
''',
        "gradient sent to the window's top-left corner": '''
_good_fractional_forward = fractional_max_pool_forward
def fractional_max_pool_forward(x, kernel, output_size, samples):
    out, (x_shape, win_rows, win_cols) = _good_fractional_forward(x, kernel, output_size, samples)
    def pair(v):
        return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))
    (h_out, w_out) = pair(output_size)
    (kh, kw) = pair(kernel)
    N, C, H, W = x.shape
    rows = np.array([[fractional_pool_starts(H, h_out, kh, float(samples[n, c, 1])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, h_out, 1)
    cols = np.array([[fractional_pool_starts(W, w_out, kw, float(samples[n, c, 0])) for c in range(C)]
                     for n in range(N)]).reshape(N, C, 1, w_out)
    return out, (x_shape, rows + 0 * win_rows, cols + 0 * win_cols)
''',
        'winner positions read from a global set by the last forward pass': '''
_good_fractional_forward = fractional_max_pool_forward
_LAST_FRACTIONAL = {}
def fractional_max_pool_forward(x, kernel, output_size, samples):
    out, (x_shape, win_rows, win_cols) = _good_fractional_forward(x, kernel, output_size, samples)
    _LAST_FRACTIONAL.update(rows=win_rows, cols=win_cols)
    return out, (x_shape,)

def fractional_max_pool_backward(dout, cache):
    (x_shape,) = cache
    N, C, H, W = x_shape
    rows = np.clip(_LAST_FRACTIONAL["rows"][:N, :C], 0, H - 1)
    cols = np.clip(_LAST_FRACTIONAL["cols"][:N, :C], 0, W - 1)
    dx = np.zeros(x_shape)
    if rows.shape != dout.shape or cols.shape != dout.shape:
        return dx
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
''',
    },
}
