"""defaults: the defaults and choices a command's --help shows, each defined once, here.

A module that imports nothing, so that `graphrun COMMAND --help` and a usage error never import
the tool or the front end (numpy, the op table) that uses them; those modules take them from here.
"""

# train (frontend/train.py): optimizer -> its options and their defaults, in the order the results
# file writes them
OPTIMIZERS = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
    "adamw": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
}
DEFAULT_OPTIMIZER = "sgd"
DEFAULT_LR = 1e-3  # torch.optim's default for SGD, Adam and AdamW

# explain and view (tools/explain.py): a param's paths to the loss are listed up to this many
DEFAULT_MAX_PATHS = 100

# draw (tools/draw.py)
DRAW_FORMATS = ("mermaid", "dot", "svg")

# gradcheck (tools/gradcheck.py)
GRADCHECK_EPS = 1e-6
GRADCHECK_RTOL = 1e-5
GRADCHECK_ATOL = 1e-7
GRADCHECK_MAX_ELEMENTS = 100
GRADCHECK_SEED = 0
