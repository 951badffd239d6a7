"""graphrun: declare a computation graph in YAML, run it forward and backward, keep its values and
gradients honest in CI.

    import graphrun
    graph = graphrun.compile("graphs/simple.yaml")   # load and check: raises GraphError
    results = graphrun.run(graph)                     # forward, and backward when there is a loss
    results.loss, results.values["u"], results.grads["w"]

The names below are the public API (graphrun/api.py). They are imported on first use, so that
`import graphrun` (and `graphrun --version`) costs next to nothing.
"""

__version__ = "0.1.0"

_API = {
    "Graph": "api", "Results": "engine.values", "compile": "api", "compile_text": "api",
    "run": "api", "explain": "api", "gradcheck": "api", "draw": "api", "view": "api",
    "check": "api",
    "read_results": "api", "diff": "api", "expand": "api", "train": "api", "training_settings": "api",
    "trained_params": "api", "check_training": "api", "explain_training": "api",
    "plot_training": "api", "TrainingResults": "engine.train",
    "GraphError": "errors", "NumericError": "errors", "Problem": "errors",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'graphrun' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"graphrun.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
