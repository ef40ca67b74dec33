"""I-BERT integer-only kernels (Kim et al., "I-BERT: Integer-only BERT Quantization",
ICML 2021, arXiv 2101.01321): second-order polynomials, erf / GELU, exp, softmax, integer
square root and LayerNorm, on integer codes.

Every kernel takes int64 arrays of codes and the integer constants the validating wrappers
in ``refquant.integer`` derive from the scales (q_b = floor(b / S) and the like); inside a
kernel there is only int64 addition, multiplication, floor division and shifts. Divisions
are floors (``//`` rounds toward -inf, the paper's floor), shifts are arithmetic. The
wrappers check that no intermediate leaves int64.
"""
import numpy as np

from . import njit

__all__ = [
    "i_poly",
    "i_erf_scalar",
    "i_erf",
    "i_gelu",
    "i_exp_scalar",
    "i_exp",
    "isqrt_scalar",
    "i_sqrt",
    "i_softmax",
    "i_layernorm",
]


@njit(cache=True)
def i_poly(q, qb, qc, out):
    """I-POLY (Algorithm 1): out = (q + q_b)^2 + q_c elementwise, with q_b = floor(b / S)
    and q_c = floor(c / (a S^2)); then out * (a S^2) approximates a (x + b)^2 + c at
    x = q S."""
    for i in range(q.size):
        t = q[i] + qb
        out[i] = t * t + qc


@njit(cache=True)
def i_erf_scalar(q, qb, qc):
    """I-ERF (Algorithm 2) of one code: sgn(q) [(min(|q|, -q_b) + q_b)^2 + q_c] with
    q_b = floor(b / S) < 0, q_c = floor(c / (a S^2)); the scale of the result is a S^2.
    The clip bound -q_b is the integer form of the paper's -b / S (at the bound
    q + q_b = 0, the flat part of the polynomial)."""
    a = q if q >= 0 else -q
    if a > -qb:
        a = -qb
    t = a + qb
    v = t * t + qc
    if q > 0:
        return v
    if q < 0:
        return -v
    return np.int64(0)


@njit(cache=True)
def i_erf(q, qb, qc, out):
    """``i_erf_scalar`` elementwise."""
    for i in range(q.size):
        out[i] = i_erf_scalar(q[i], qb, qc)


@njit(cache=True)
def i_gelu(q, qb, qc, q1, out):
    """I-GELU (Algorithm 2): out = q (q_erf + q_1) with q_erf = I-ERF(q) at the scale
    S / sqrt(2) (q_b, q_c formed with that scale) and q_1 = floor(1 / S_erf)."""
    for i in range(q.size):
        out[i] = q[i] * (i_erf_scalar(q[i], qb, qc) + q1)


@njit(cache=True)
def i_exp_scalar(q, qln2, qb, qc):
    """I-EXP (Algorithm 3) of one code q <= 0: z = floor(-q / q_ln2) with
    q_ln2 = floor(ln 2 / S); q_p = q + z q_ln2 in (-q_ln2, 0]; q_L = (q_p + q_b)^2 + q_c
    (I-POLY with a, b, c = 0.3585, 1.353, 0.344); result q_L >> z (floor of
    q_L / 2^z; 0 once z >= 63, as 0 <= q_L < 2^63). z is found by a binary search over its
    six bits (z < 63), which equals the floor division."""
    n = -q
    if n >= 63 * qln2:
        return np.int64(0)
    # z = floor(n / q_ln2) < 63 by binary search on its bits (exact, no division)
    z = np.int64(0)
    for sh in range(5, -1, -1):
        t = z + (np.int64(1) << sh)
        z += (np.int64(1) << sh) * (t * qln2 <= n)
    qp = q + z * qln2
    t = qp + qb
    return (t * t + qc) >> z


@njit(cache=True)
def i_exp(q, qln2, qb, qc, out):
    """``i_exp_scalar`` elementwise (codes q <= 0)."""
    for i in range(q.size):
        out[i] = i_exp_scalar(q[i], qln2, qb, qc)


@njit(cache=True)
def isqrt_scalar(n):
    """I-SQRT (Algorithm 4) of an integer n >= 0: 0 for n = 0; else Newton's iteration
    x_{i+1} = floor((x_i + floor(n / x_i)) / 2) from x_0 = 2^ceil(bits(n) / 2), stopping at
    the first i with x_{i+1} >= x_i and returning x_i; this is floor(sqrt(n))."""
    if n == 0:
        return np.int64(0)
    nb = 0
    t = n
    while t > 0:
        nb += 1
        t >>= 1
    x = np.int64(1) << ((nb + 1) // 2)
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


@njit(cache=True)
def i_sqrt(n, out):
    """``isqrt_scalar`` elementwise (n >= 0)."""
    for i in range(n.size):
        out[i] = isqrt_scalar(n[i])


@njit(cache=True)
def i_softmax(q, qln2, qb, qc, bits, out):
    """Integer softmax over the last axis of a 2-D integer array q (rows x n; any signed
    integer dtype, every value taken into int64 first), per row:
    q~ = q - max(q) (row max subtraction), e = I-EXP(q~), s = sum(e) (exact, int64),
    f = floor(2^62 / s) (one division per row), out = min(floor(e f / 2^(62 - bits)),
    2^bits - 1): probabilities at the scale 2^-bits in ``bits`` unsigned bits (1.0, reached
    only when every other e is 0, saturates to 1 - 2^-bits). e f <= 2^62 since e <= s.
    This is the normalisation of I-BERT's released code (factor = floor(2^32 / sum)),
    with 62 fraction bits; it equals floor(e 2^bits / s) or is 1 below it."""
    rows, n = q.shape
    e = np.empty(n, np.int64)
    top = (np.int64(1) << bits) - 1
    for r in range(rows):
        m = np.int64(q[r, 0])
        for j in range(1, n):
            if q[r, j] > m:
                m = np.int64(q[r, j])
        s = np.int64(0)
        for j in range(n):
            e[j] = i_exp_scalar(np.int64(q[r, j]) - m, qln2, qb, qc)
            s += e[j]
        f = (np.int64(1) << 62) // s
        for j in range(n):
            v = (e[j] * f) >> (62 - bits)
            out[r, j] = v if v < top else top


@njit(cache=True)
def i_layernorm(q, k, gamma, beta, out):
    """Integer LayerNorm over the last axis of a 2-D array q (rows x n), per row:
    mu = floor(sum(q) / n); y = q - mu; var = sum(y^2); sigma = I-SQRT(var);
    f = floor(2^31 / sigma) (0 when sigma = 0, where every y is 0);
    z = floor(y f / 2^(31 - k)) (z / 2^k ~ y / sigma, so z sqrt(n) / 2^k ~ (x - mean) / std);
    out = z gamma + beta (gamma, beta: one integer per column). 0 <= k <= 31."""
    rows, n = q.shape
    for r in range(rows):
        s = np.int64(0)
        for j in range(n):
            s += q[r, j]
        mu = s // n
        var = np.int64(0)
        for j in range(n):
            y = q[r, j] - mu
            var += y * y
        sigma = isqrt_scalar(var)
        f = (np.int64(1) << 31) // sigma if sigma > 0 else np.int64(0)
        for j in range(n):
            z = ((q[r, j] - mu) * f) >> (31 - k)
            out[r, j] = z * gamma[j] + beta[j]
