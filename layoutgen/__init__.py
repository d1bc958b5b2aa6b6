"""layoutgen: compile a quantized neural network into a hardwired standard-cell chip."""

__version__ = "0.1.0"
