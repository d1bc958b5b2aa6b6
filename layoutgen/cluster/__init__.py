"""Clustering pass: weight tiles shared exactly (partial sums, unit cells) or by vector quantization."""
from .lossy import ClusterResult, cluster_model, parse_cluster_spec, quantize_tiles, weight_bits_of
from .tiles import TileTable, UnitInstance, canonical_tiles, check_tile, reconstruct_weights, tile_matrix, tile_model

__all__ = [
    "ClusterResult", "TileTable", "UnitInstance", "canonical_tiles", "check_tile", "cluster_model",
    "parse_cluster_spec", "quantize_tiles", "reconstruct_weights", "tile_matrix", "tile_model", "weight_bits_of",
]
