"""nn: the layers of a small network that are more than one op: layer_norm, dropout, conv2d and
the 2-D pools (max_pool2d, avg_pool2d), in PyTorch's NCHW layout.

conv2d is im2col: the input's windows copied into columns (one strided copy per kernel offset),
then one batched matrix product with the kernel; its VJPs are one product each, and col2im adds
the columns' gradients back (one strided addition per offset). The pools loop over the kernel's
offsets the same way. bench/bench_conv.py measures it against the same numpy written by hand.
"""

from __future__ import annotations

import numpy as np

from .core import REQUIRED, Attr, Kink, OpError, Type, float_dtype, norm_axes, op, shape_str
from .kinds import AXIS, BOOL, INT, NUMBER, OPTIONAL_PAIR, PAIR
from .samples import ANY, POSITIVE, Domain, sample

# ---------------------------------------------------------------------------------------------
# layer_norm


def _normalised_axes(name, shape, axis):
    """The axes layer_norm normalises over: the last k (PyTorch's normalized_shape)."""
    axes = norm_axes(axis, len(shape), name)
    if axes != tuple(range(len(shape) - len(axes), len(shape))):
        raise OpError(f"{name} normalises over the last axes, as PyTorch's normalized_shape; "
                      f"axis {list(axis) if isinstance(axis, tuple) else axis} of "
                      f"{shape_str(shape)} is not (move the axes last with transpose)",
                      attr="axis")
    return axes


def _layer_norm_infer(name, x, *affine, axis, eps):
    dtype = float_dtype((x,) + affine, name)
    if len(x.shape) == 0:
        raise OpError(f"{name} needs an argument with at least one axis; found a scalar", arg=0)
    axes = _normalised_axes(name, x.shape, axis)
    want = x.shape[axes[0]:]
    for i, t in enumerate(affine, start=1):
        if t.dtype is not None and t.shape != want:
            raise OpError(f"shape mismatch: {name} over {shape_str(want)} needs a "
                          f"{('weight', 'bias')[i - 1]} of shape {shape_str(want)}; found "
                          f"{shape_str(t.shape)}", arg=i)
    if not eps > 0:
        raise OpError(f"{name}: eps must be positive; found {eps!r}", attr="eps")
    return Type(x.shape, dtype)


def _normalise(x, axis, eps):
    axes = tuple(range(np.ndim(x) - len(norm_axes(axis, np.ndim(x), "layer_norm")), np.ndim(x)))
    mean = np.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)  # biased, as PyTorch
    rstd = 1 / np.sqrt(var + eps)
    return centred * rstd, rstd, axes


def _layer_norm(x, weight=None, bias=None, *, axis, eps):
    y, _, _ = _normalise(x, axis, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _layer_norm_vjp_x(g, ans, x, weight=None, bias=None, *, axis, eps):
    # d/dx of (x - mean) rstd for gy = g * weight: rstd (gy - mean(gy) - y mean(gy y))
    y, rstd, axes = _normalise(x, axis, eps)
    gy = g if weight is None else g * weight
    return rstd * (gy - np.mean(gy, axis=axes, keepdims=True)
                   - y * np.mean(gy * y, axis=axes, keepdims=True))


op("layer_norm", doc="(x - mean) / sqrt(var + eps) over the last axes, times weight plus bias "
                     "(PyTorch's layer_norm)",
   forward=_layer_norm,
   vjps=(_layer_norm_vjp_x,
         # summed over the leading axes by the executor (unbroadcast)
         lambda g, ans, x, weight, bias=None, *, axis, eps: g * _normalise(x, axis, eps)[0],
         lambda g, ans, x, weight, bias, *, axis, eps: g),
   optional=2,
   attrs={"axis": Attr(AXIS, default=-1, doc="the axes to normalise over: the last one (-1), "
                                             "the last few ([-2, -1]), or null for all"),
          "eps": Attr(NUMBER, default=1e-5, doc="added to the variance (PyTorch's default)")},
   infer=_layer_norm_infer,
   local=("rstd (g w - mean(g w) - y mean(g w y))", "{g} y, summed", "{g}, summed"),
   samples=[sample((2, 5)), sample((2, 5), (5,), (5,)), sample((3, 4), (4,)),
            sample((2, 3, 4), (3, 4), (3, 4), attrs=dict(axis=[-2, -1])),
            sample((2, 3, 4), attrs=dict(axis=2, eps=0.1)), sample((4,), attrs=dict(axis=None)),
            sample((2, 3), (2, 3), attrs=dict(axis=[0, 1]))])


# ---------------------------------------------------------------------------------------------
# dropout

def _dropout_infer(name, x, p, seed, training):
    dtype = float_dtype([x], name)
    if not 0 <= p <= 1:
        raise OpError(f"{name}: p is the probability of dropping an element, in [0, 1]; found "
                      f"{p!r}", attr="p")
    if isinstance(seed, int) and seed < 0:  # (a training run's seed is a sequence)
        raise OpError(f"{name}: seed must be 0 or more; found {seed}", attr="seed")
    return Type(x.shape, dtype)


def _keep(shape, p, seed):
    """The elements kept, and the scale that keeps the expected value: the same for a seed, on
    every machine (numpy's default_rng, PCG64). In a training run the seed is the sequence
    (seed, step, position): see _in_training."""
    if p == 1:
        return np.zeros(shape, bool), 0.0  # PyTorch: everything dropped, no 1/0
    return np.random.default_rng(seed).random(shape) >= p, 1.0 / (1.0 - p)


def _dropout(x, p, seed, training):
    if not training or p == 0:
        return x
    keep, scale = _keep(np.shape(x), p, seed)
    return x * keep * scale


def _dropout_vjp(g, ans, x, p, seed, training):
    if not training or p == 0:
        return g
    keep, scale = _keep(np.shape(x), p, seed)
    return g * keep * scale


DROPOUT_SEED = 0


def _in_training(attrs, step, position):
    """What a training run's step gives dropout: the mask on, and a mask of its own for the step
    and the node, numpy's default_rng([seed, step, position]) (the backward pass of the step
    draws the same one). Written `training: false` stays off."""
    if attrs.get("training") is False:
        return attrs
    return {**attrs, "training": True,
            "seed": (attrs.get("seed", DROPOUT_SEED), step, position)}


op("dropout", doc="x with each element zeroed with probability p and the rest scaled by "
                  "1/(1 - p) when training; x itself otherwise",
   forward=_dropout, vjps=(_dropout_vjp,), train_attrs=_in_training,
   attrs={"p": Attr(NUMBER, default=0.5, doc="the probability of zeroing an element"),
          "seed": Attr(INT, default=DROPOUT_SEED,
                       doc="which elements: the same seed drops the same ones"),
          "training": Attr(BOOL, default=False,
                           doc="drop (true) or pass x through (false, the default); a training "
                               "loop sets it, and a new seed each step")},
   infer=_dropout_infer, local=("[kept] / (1 - p) when training, else 1",),
   samples=[sample((2, 3)), sample((4, 5), attrs=dict(training=True)),
            sample((4, 5), attrs=dict(training=True, p=0.25, seed=7)),
            sample((3,), attrs=dict(training=False, p=0.9)),
            sample((2, 2), attrs=dict(training=True, p=1)),
            sample((), attrs=dict(training=True, p=0.0, seed=3))])


# ---------------------------------------------------------------------------------------------
# convolution and pooling, NCHW


def _pair(value):
    """A PAIR attribute as (height, width): the entry's default is one integer, like a file's."""
    return (value, value) if isinstance(value, int) else tuple(value)


def _size(name, attr, value, positive=True):
    """A PAIR attribute checked: two integers, positive (or >= 0)."""
    value = _pair(value)
    if len(value) != 2:
        raise OpError(f"{name}: {attr} must be an integer or [height, width]; found "
                      f"{list(value)}", attr=attr)
    low = 1 if positive else 0
    if any(v < low for v in value):
        raise OpError(f"{name}: {attr} must be {'positive' if positive else '0 or more'}; found "
                      f"{list(value)}", attr=attr)
    return tuple(value)


def _out(name, spatial, kernel, stride, padding):
    """Output sizes, PyTorch's floor((H + 2p - k) / s) + 1, refused when the kernel does not fit."""
    out = []
    for n, k, s, p in zip(spatial, kernel, stride, padding):
        if n + 2 * p < k:
            raise OpError(f"{name}: a {kernel[0]}x{kernel[1]} kernel does not fit in "
                          f"{spatial[0]}x{spatial[1]}" + (f" padded by {list(padding)}"
                                                         if any(padding) else ""))
        out.append((n + 2 * p - k) // s + 1)
    return tuple(out)


def _offsets(kernel, stride, out):
    """For each kernel offset (i, j), the strided slice of the (padded) input that its windows
    read: rows i, i + sH, ... (oH of them), and likewise for the columns."""
    (kh, kw), (sh, sw), (oh, ow) = _pair(kernel), _pair(stride), out
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None), slice(i, i + sh * (oh - 1) + 1, sh),
                         slice(j, j + sw * (ow - 1) + 1, sw))


def _out_size(shape, kernel, stride):
    (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
    return (shape[2] - kh) // sh + 1, (shape[3] - kw) // sw + 1


def _im2col(xp, kernel, stride):
    """The windows of a padded input (N, C, H, W) as columns (N, C kH kW, oH oW): one strided
    copy per kernel offset, each a block of whole rows (np.tensordot of a view of all the windows
    copies it across its strides, 20x slower: bench/README.md)."""
    kh, kw = _pair(kernel)
    oh, ow = _out_size(xp.shape, kernel, stride)
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, oh, ow), xp.dtype)
    for i, j, where in _offsets(kernel, stride, (oh, ow)):
        cols[:, :, i, j] = xp[where]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _col2im(d_cols, shape, kernel, stride, padding, dtype):
    """The gradients of the columns (N, C, kH, kW, oH, oW) added back into a tensor of `shape`
    (N, C, H, W): one strided addition per kernel offset (windows overlap)."""
    n, c, h, w = shape
    ph, pw = _pair(padding)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype)
    for i, j, where in _offsets(kernel, stride, d_cols.shape[4:]):
        out[where] += d_cols[:, :, i, j]
    return out[:, :, ph:ph + h, pw:pw + w]


def _pad(x, padding):
    (ph, pw) = _pair(padding)
    if not ph and not pw:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _conv2d_infer(name, x, w, *bias, stride, padding):
    dtype = float_dtype((x, w) + bias, name)
    if len(x.shape) != 4:
        raise OpError(f"{name} expects an input of shape (N, C, H, W); found "
                      f"{shape_str(x.shape)} (add axes with expand_dims or reshape)", arg=0)
    if len(w.shape) != 4:
        raise OpError(f"{name} expects a kernel of shape (O, C, kH, kW); found "
                      f"{shape_str(w.shape)}", arg=1)
    if w.shape[1] != x.shape[1]:
        raise OpError(f"shape mismatch: {name}: the input {shape_str(x.shape)} has {x.shape[1]} "
                      f"channels, the kernel {shape_str(w.shape)} expects {w.shape[1]}", arg=1)
    if bias and bias[0].dtype is not None and bias[0].shape != (w.shape[0],):
        raise OpError(f"shape mismatch: {name}: the bias must have one value per output "
                      f"channel, ({w.shape[0]},); found {shape_str(bias[0].shape)}", arg=2)
    stride = _size(name, "stride", stride)
    padding = _size(name, "padding", padding, positive=False)
    oh, ow = _out(name, x.shape[2:], w.shape[2:], stride, padding)
    return Type((x.shape[0], w.shape[0], oh, ow), dtype)


def _conv2d(x, w, bias=None, *, stride, padding):
    xp = _pad(x, padding)
    oh, ow = _out_size(xp.shape, w.shape[2:], stride)
    # (O, C kH kW) @ (N, C kH kW, oH oW): one batched matrix product, already in NCHW order
    out = np.matmul(w.reshape(w.shape[0], -1), _im2col(xp, w.shape[2:], stride))
    out = out.reshape(x.shape[0], w.shape[0], oh, ow)
    return out if bias is None else out + bias[:, None, None]


def _conv2d_vjp_x(g, ans, x, w, bias=None, *, stride, padding):
    n, o, oh, ow = g.shape
    d_cols = np.matmul(w.reshape(o, -1).T, g.reshape(n, o, oh * ow))  # (N, C kH kW, oH oW)
    return _col2im(d_cols.reshape((n,) + w.shape[1:] + (oh, ow)), x.shape, w.shape[2:], stride,
                   padding, d_cols.dtype)


def _conv2d_vjp_w(g, ans, x, w, bias=None, *, stride, padding):
    n, o, oh, ow = g.shape
    cols = _im2col(_pad(x, padding), w.shape[2:], stride)  # (N, C kH kW, oH oW)
    # the sum over the batch of g[n] @ cols[n]^T: one product over (N, oH oW)
    d_w = np.tensordot(g.reshape(n, o, oh * ow), cols, axes=([0, 2], [0, 2]))
    return d_w.reshape(w.shape)


op("conv2d", doc="the 2-D convolution (cross-correlation) of x (N,C,H,W) with w (O,C,kH,kW), "
                 "plus an optional bias (O,) (PyTorch's conv2d)",
   forward=_conv2d, vjps=(_conv2d_vjp_x, _conv2d_vjp_w,
                          lambda g, ans, x, w, bias, *, stride, padding: np.sum(g, axis=(0, 2, 3))),
   optional=1,
   attrs={"stride": Attr(PAIR, default=1, doc="the step between windows: an integer or "
                                              "[height, width]"),
          "padding": Attr(PAIR, default=0, doc="zeros added on each side: an integer or "
                                               "[height, width]")},
   infer=_conv2d_infer,
   local=("{g} convolved back (col2im)", "{g} contracted with the windows of {0}",
          "{g} summed over N, H, W"),
   samples=[sample((2, 2, 5, 5), (3, 2, 3, 3)), sample((1, 1, 4, 4), (2, 1, 2, 2), (2,)),
            sample((2, 3, 6, 5), (2, 3, 3, 2), (2,), attrs=dict(stride=2, padding=1)),
            sample((1, 2, 5, 6), (1, 2, 3, 3), attrs=dict(stride=[2, 1], padding=[0, 2])),
            sample((2, 1, 3, 3), (1, 1, 3, 3), attrs=dict(padding=1))])


def _pool_infer(name, x, kernel, stride):
    dtype = float_dtype([x], name)
    if len(x.shape) != 4:
        raise OpError(f"{name} expects an input of shape (N, C, H, W); found "
                      f"{shape_str(x.shape)}", arg=0)
    kernel = _size(name, "kernel", kernel)
    stride = kernel if stride is None else _size(name, "stride", stride)
    oh, ow = _out(name, x.shape[2:], kernel, stride, (0, 0))
    return Type(x.shape[:2] + (oh, ow), dtype)


def _pool_offsets(x, kernel, stride):
    """The kernel's offsets (i, j) and the slice of x each reads (stride null: the kernel)."""
    stride = kernel if stride is None else stride
    return _offsets(kernel, stride, _out_size(np.shape(x), kernel, stride))


def _max_pool2d(x, kernel, stride):
    out = None
    for _, _, where in _pool_offsets(x, kernel, stride):
        out = x[where] if out is None else np.maximum(out, x[where])
    return out


def _first_max(x, kernel, stride):
    """Each window's first largest element, as its offset i * kW + j in row-major order: PyTorch's
    max_pool2d index (a later element takes over only when strictly larger)."""
    kw = _pair(kernel)[1]
    best = first = None
    for i, j, where in _pool_offsets(x, kernel, stride):
        v = x[where]
        if best is None:
            best, first = v, np.zeros(v.shape, np.int64)
        else:
            larger = v > best
            best = np.where(larger, v, best)
            first = np.where(larger, i * kw + j, first)
    return first


def _max_pool2d_vjp(g, ans, x, kernel, stride):
    # the whole g of a window goes to its first largest element: PyTorch's max_pool2d, not shared
    # among ties as the max reduction shares it; added up where windows overlap
    kw = _pair(kernel)[1]
    first = _first_max(x, kernel, stride)
    out = np.zeros(np.shape(x), np.result_type(g))
    for i, j, where in _pool_offsets(x, kernel, stride):
        out[where] += np.where(first == i * kw + j, g, 0)
    return out


def _avg_pool2d(x, kernel, stride):
    total = None
    for _, _, where in _pool_offsets(x, kernel, stride):
        total = x[where] if total is None else total + x[where]
    kh, kw = _pair(kernel)
    return total / (kh * kw)


def _avg_pool2d_vjp(g, ans, x, kernel, stride):
    kh, kw = _pair(kernel)
    share = g / (kh * kw)
    out = np.zeros(np.shape(x), np.result_type(g))
    for _, _, where in _pool_offsets(x, kernel, stride):
        out[where] += share
    return out


POOL_ATTRS = {"kernel": Attr(PAIR, default=REQUIRED, doc="the window: an integer or "
                                                           "[height, width]"),
              "stride": Attr(OPTIONAL_PAIR, default=None, doc="the step between windows; null: "
                                                               "the kernel (PyTorch's default)")}

_POOL_SAMPLES = [sample((2, 2, 4, 4), attrs=dict(kernel=2)),
                 sample((1, 2, 5, 5), attrs=dict(kernel=3, stride=1)),
                 sample((1, 1, 5, 6), attrs=dict(kernel=[2, 3], stride=[1, 2])),
                 sample((2, 1, 5, 4), attrs=dict(kernel=2, stride=None))]

op("max_pool2d", doc="the largest element of each window of x (N,C,H,W) (PyTorch's max_pool2d)",
   forward=_max_pool2d, vjps=(_max_pool2d_vjp,), attrs=POOL_ATTRS, infer=_pool_infer,
   local=("{g} to the first largest element of each window",),
   kink=Kink("a tie in a max_pool2d window", _first_max), samples=_POOL_SAMPLES)

op("avg_pool2d", doc="the mean of each window of x (N,C,H,W) (PyTorch's avg_pool2d)",
   forward=_avg_pool2d, vjps=(_avg_pool2d_vjp,), attrs=POOL_ATTRS, infer=_pool_infer,
   local=("{g} / (kH kW) to every element of each window",), samples=_POOL_SAMPLES)
