"""PyTorch's CPU re-implementation of the CUTLASS 2:4 conversion as the oracle for
compress_2_4 + reorder_metadata_cutlass (skipped when torch is not installed)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
conv = pytest.importorskip("torch.sparse._semi_structured_conversions")

from refquant.sparse import (compress_2_4, decompress_2_4, nm_mask,  # noqa: E402
                             reorder_metadata_cutlass, unreorder_metadata_cutlass)


def _case(dtype, rows, k, seed, one_two=False):
    rng = np.random.default_rng(seed)
    w = rng.integers(-100, 100, (rows, k)).astype(np.float64)
    w = w * (nm_mask(w, 1, 2) if one_two else nm_mask(w, 2, 4))
    w[rng.random(w.shape) < 0.25] = 0          # groups with fewer non-zeros
    return w.astype(dtype)


@pytest.mark.parametrize("np_dtype, t_dtype, rows, k, one_two", [
    (np.float16, torch.float16, 32, 64, False),
    (np.float16, torch.float16, 64, 128, False),
    (np.int8, torch.int8, 32, 128, False),
    (np.int8, torch.int8, 16, 64, False),
    (np.float32, torch.float32, 32, 32, True),
])
def test_matches_torch_cutlass_conversion(np_dtype, t_dtype, rows, k, one_two):
    w = _case(np_dtype, rows, k, rows + k, one_two)
    sparse, meta_reordered = conv.sparse_semi_structured_from_dense_cutlass(
        torch.from_numpy(w).to(t_dtype))
    v, meta = compress_2_4(w)
    assert np.array_equal(v, sparse.numpy())
    got = reorder_metadata_cutlass(meta)
    assert got.dtype == meta_reordered.numpy().dtype
    assert np.array_equal(got, meta_reordered.numpy())
    assert np.array_equal(unreorder_metadata_cutlass(meta_reordered.numpy()), meta)
    back = conv.sparse_semi_structured_to_dense_cutlass(sparse, meta_reordered).numpy()
    assert np.array_equal(back, decompress_2_4(v, meta))
