"""synonyms: what people call the ops, for the graph stage's did-you-mean. Spelling distance
alone sends `clamp` nowhere and `bce` to nothing useful; these are the names learners bring from
PyTorch, numpy and the lessons, each with the op (or ops, or expression) graphrun has for it.

- NAMES: an unknown op name (lower case) -> (the suggestion, why). The suggestion names ops of the
  table in quotes; tests/test_suggestions.py checks that each one exists.
- BY_ARITY: an op called with the wrong number of arguments -> what that number means elsewhere
  (`min` of two values is `minimum`).
- FROM: the op that made an int64 or bool argument -> what to do with it where a float is needed
  (argmax's indices have no gradient; a comparison's bools choose with where).
"""

from __future__ import annotations

LINEAR = ("the expression x @ W + b (a node `h: x @ W + b`, or {op: matmul, args: [x, W]} then "
          "{op: add, args: [xW, b]})")

NAMES = {
    # PyTorch's and numpy's names for graphrun's ops
    "clamp": ("'clip'", "PyTorch's clamp"),
    "hardtanh": ("'clip' with min: -1, max: 1", "PyTorch's hardtanh"),
    "unsqueeze": ("'expand_dims'", "PyTorch's unsqueeze"),
    "expand": ("'broadcast_to'", "PyTorch's expand"),
    "view": ("'reshape'", "PyTorch's view"),
    "permute": ("'transpose' with axes", "PyTorch's permute"),
    "cat": ("'concat'", "PyTorch's cat"),
    "concatenate": ("'concat'", "numpy's concatenate"),
    "gather": ("'take_along_axis'", "PyTorch's gather"),
    "index_select": ("'take'", "PyTorch's index_select"),
    "getitem": ("'index'", "x[...]"),
    "narrow": ("'slice'", "PyTorch's narrow"),
    "amax": ("'max' (the reduction)", "PyTorch's amax"),
    "amin": ("'min' (the reduction)", "PyTorch's amin"),
    "variance": ("'var'", ""),
    "stddev": ("'std'", ""),
    "l2_norm": ("'norm'", ""),
    "vector_norm": ("'norm'", "PyTorch's linalg.vector_norm"),
    "swish": ("'silu'", "swish is silu"),
    "logistic": ("'sigmoid'", ""),
    "negative": ("'neg'", "numpy's negative"),
    "subtract": ("'sub'", "numpy's subtract"),
    "multiply": ("'mul'", "numpy's multiply"),
    "divide": ("'div'", "numpy's divide"),
    "true_divide": ("'div'", "numpy's true_divide"),
    "power": ("'pow'", "numpy's power"),
    "sqr": ("'square'", ""),
    "inverse": ("'reciprocal'", ""),
    "signum": ("'sign'", ""),
    "greater": ("'gt'", "numpy's greater"),
    "greater_equal": ("'ge'", "numpy's greater_equal"),
    "less": ("'lt'", "numpy's less"),
    "less_equal": ("'le'", "numpy's less_equal"),
    "equal": ("'eq'", "numpy's equal"),
    "not_equal": ("'ne'", "numpy's not_equal"),
    "select": ("'where'", ""),
    "dot": ("'matmul'", "(k,) @ (k,) is the dot product"),
    "mm": ("'matmul'", "PyTorch's mm"),
    "bmm": ("'matmul'", "batches are leading axes"),
    "tensordot": ("'matmul' (after reshape or transpose)", ""),
    # losses
    "bce": ("'binary_cross_entropy_with_logits'",
            "it takes logits; 'binary_cross_entropy' takes probabilities"),
    "bce_with_logits": ("'binary_cross_entropy_with_logits'", "PyTorch's BCEWithLogitsLoss"),
    "bcewithlogits": ("'binary_cross_entropy_with_logits'", "PyTorch's BCEWithLogitsLoss"),
    "sigmoid_cross_entropy": ("'binary_cross_entropy_with_logits'", ""),
    "logistic_loss": ("'binary_cross_entropy_with_logits'", ""),
    "log_loss": ("'binary_cross_entropy' (probabilities) or "
                 "'binary_cross_entropy_with_logits' (logits)", ""),
    "ce": ("'cross_entropy'", ""),
    "crossentropy": ("'cross_entropy'", ""),
    "softmax_cross_entropy": ("'cross_entropy'", "it takes logits and int64 labels"),
    "categorical_crossentropy": ("'cross_entropy'", "it takes logits and int64 labels"),
    "nll": ("'nll_loss'", ""),
    "mse_loss": ("'mse'", "PyTorch's mse_loss"),
    "mean_squared_error": ("'mse'", ""),
    "l2_loss": ("'mse'", ""),
    "mae": ("'l1_loss'", "the mean absolute error"),
    "mean_absolute_error": ("'l1_loss'", ""),
    "huber_loss": ("'huber'", "PyTorch's huber_loss"),
    "smooth_l1_loss": ("'huber'", "smooth_l1_loss is huber / delta"),
    # layers
    "linear": (LINEAR, "graphrun has no layer op"),
    "dense": (LINEAR, "graphrun has no layer op"),
    "fully_connected": (LINEAR, "graphrun has no layer op"),
    "conv": ("'conv2d'", ""),
    "convolution": ("'conv2d'", ""),
    "maxpool": ("'max_pool2d'", ""),
    "max_pool": ("'max_pool2d'", ""),
    "maxpool2d": ("'max_pool2d'", "PyTorch's MaxPool2d"),
    "avgpool": ("'avg_pool2d'", ""),
    "avg_pool": ("'avg_pool2d'", ""),
    "layernorm": ("'layer_norm'", "PyTorch's LayerNorm"),
    "onehot": ("'one_hot'", ""),
    "log_sigmoid": ("neg of 'softplus' of neg x: log sigmoid(x) = -softplus(-x)", ""),
    "logsigmoid": ("neg of 'softplus' of neg x: log sigmoid(x) = -softplus(-x)", ""),
}

BY_ARITY = {
    ("min", 2): "for the smaller of two values, element by element, use 'minimum'",
    ("max", 2): "for the larger of two values, element by element, use 'maximum'",
    ("sum", 2): "to add two values use 'add'",
    ("minimum", 1): "for the smallest element use the reduction 'min'",
    ("maximum", 1): "for the largest element use the reduction 'max'",
}

_INDICES = ("the int64 indices {op} gives, which have no gradient: compare them with 'eq', pick "
            "with 'take', or make floats with 'one_hot'")
_BOOLS = "the bool values {op} gives: choose between floats with 'where'"

FROM = {"argmax": _INDICES, "argmin": _INDICES, "gt": _BOOLS, "ge": _BOOLS, "lt": _BOOLS,
        "le": _BOOLS, "eq": _BOOLS, "ne": _BOOLS}


def unknown_op(name: str):
    """(suggestion, why) for an op name people use, or None."""
    return NAMES.get(name.lower())
