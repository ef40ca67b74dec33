"""Sparse formats: CSR / CSC / COO / BSR containers with exact integer products, N:M
sparsity and the 2:4 sparse-tensor-core layout, transposable N:M masks, column
combining for systolic arrays, and pruning.

See each module's docstring for the exact semantics and the sources followed.
"""
from .column_combine import ColumnCombining, column_combine, combine_groups, conflicts
from .containers import BSR, COO, CSC, CSR
from .nm import (VALID_NIBBLES, check_nm, compress_2_4, decompress_2_4, is_nm, nibble_table,
                 nm_compress, nm_decompress, nm_mask, reorder_metadata_cutlass, spmm_2_4,
                 unreorder_metadata_cutlass)
from .prune import (block_prune, global_magnitude_prune, gradual_sparsity, magnitude_prune,
                    structured_prune)
from .transposable import (TransposableReport, is_transposable, transposable_mask,
                           transposable_patterns, transposable_report)

__all__ = ["CSR", "CSC", "COO", "BSR", "nm_mask", "is_nm", "check_nm", "nm_compress",
           "nm_decompress", "compress_2_4", "decompress_2_4", "reorder_metadata_cutlass",
           "unreorder_metadata_cutlass", "spmm_2_4", "VALID_NIBBLES", "nibble_table",
           "transposable_mask", "transposable_patterns", "transposable_report",
           "TransposableReport", "is_transposable", "column_combine", "combine_groups",
           "conflicts", "ColumnCombining", "magnitude_prune", "global_magnitude_prune",
           "structured_prune", "block_prune", "gradual_sparsity"]
