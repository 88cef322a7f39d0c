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
}
