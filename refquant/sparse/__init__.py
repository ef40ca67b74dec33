"""Sparse formats with exact products: CSR / CSC / COO / BSR containers (scipy's layouts,
canonical form, integer accumulator rules), N:M sparsity and the 2:4 metadata layout of
sparse tensor cores, transposable N:M masks, column combining for systolic arrays, and
pruning masks and schedules. Each function's docstring states its exact semantics."""
from ._combine import ColumnCombining, column_combine, combine_groups, conflicts
from ._containers import BSR, COO, CSC, CSR
from ._nm import (VALID_NIBBLES, check_nm, compress_2_4, decompress_2_4, is_nm, nibble_table,
                  nm_compress, nm_decompress, nm_mask, reorder_metadata_cutlass, spmm_2_4,
                  unreorder_metadata_cutlass)
from ._prune import (block_prune, global_magnitude_prune, gradual_sparsity, magnitude_prune,
                     structured_prune)
from ._transposable import (TransposableReport, is_transposable, transposable_mask,
                            transposable_patterns, transposable_report)

__all__ = [
    # containers
    "CSR",
    "CSC",
    "COO",
    "BSR",
    # N:M
    "nm_mask",
    "is_nm",
    "check_nm",
    "nm_compress",
    "nm_decompress",
    # the 2:4 metadata layout of sparse tensor cores
    "compress_2_4",
    "decompress_2_4",
    "spmm_2_4",
    "reorder_metadata_cutlass",
    "unreorder_metadata_cutlass",
    "VALID_NIBBLES",
    "nibble_table",
    # transposable N:M
    "transposable_mask",
    "transposable_patterns",
    "transposable_report",
    "TransposableReport",
    "is_transposable",
    # column combining
    "column_combine",
    "combine_groups",
    "conflicts",
    "ColumnCombining",
    # pruning
    "magnitude_prune",
    "global_magnitude_prune",
    "structured_prune",
    "block_prune",
    "gradual_sparsity",
]
