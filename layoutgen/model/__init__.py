"""Model front ends, the integer model (layoutgen-int-v1), its golden reference and the quantizer."""
from ..errors import ModelError
from .accuracy import accuracy_report, predictions
from .data import Dataset, load_data, save_data
from .floatmodel import FLOAT_FORMAT, FloatLayer, FloatModel, float_activations, float_forward, load_float_model, save_float_model
from .golden import check_inputs, golden
from .intmodel import INT_FORMAT, IntLayer, IntModel, load_int_model, save_int_model
from .loader import LoadedModel, load_model, load_model_with_info, sibling_data_path
from .quantizer import quantize

__all__ = [
    "FLOAT_FORMAT", "INT_FORMAT", "Dataset", "FloatLayer", "FloatModel", "IntLayer", "IntModel", "LoadedModel",
    "ModelError", "accuracy_report", "check_inputs", "float_activations", "float_forward", "golden", "load_data",
    "load_float_model", "load_int_model", "load_model", "load_model_with_info", "predictions", "quantize",
    "save_data", "save_float_model", "save_int_model", "sibling_data_path",
]
