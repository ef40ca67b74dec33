"""An integer-only transformer encoder layer (I-BERT, Kim et al. 2021): int8 weights and
activations, int32 accumulators, HAWQ-V3 dyadic requantization between operations,
multi-head self-attention with i-softmax, an i-GELU feed-forward block, residual adds at
matched scales and i-LayerNorm, composed from ``refquant.intops``; its GEMMs can run on
``refquant.sim``'s systolic array (cycles reported per operation). ``float_encoder`` is
the float64 reference of the same layer (post-LayerNorm BERT)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
import numpy as np
import numpy.typing as npt

from . import intops
from ._validate import check_bool, check_int, float64_array, int_array
from .sim import SystolicArray

__all__ = ["EncoderWeights", "random_encoder_weights", "float_encoder", "IntegerEncoder",
           "EncoderResult", "sqnr_db"]

_INT32 = (-(1 << 31), (1 << 31) - 1)


@dataclass(frozen=True)
class EncoderWeights:
    """Float weights of one post-LayerNorm encoder layer (BERT): y = x @ W + b with W of
    shape (in, out). wq, wk, wv, wo: (d, d); w1: (d, f); w2: (f, d); biases and LayerNorm
    gamma / beta: one per output; ``heads`` divides d."""

    wq: np.ndarray
    bq: np.ndarray
    wk: np.ndarray
    bk: np.ndarray
    wv: np.ndarray
    bv: np.ndarray
    wo: np.ndarray
    bo: np.ndarray
    ln1_gamma: np.ndarray
    ln1_beta: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    ln2_gamma: np.ndarray
    ln2_beta: np.ndarray
    heads: int

    @property
    def hidden(self) -> int:
        """d, the model width."""
        return int(self.wq.shape[0])


def random_encoder_weights(hidden: int = 768, heads: int = 12, ffn: int | None = None, *,
                           seed: int = 0) -> EncoderWeights:
    """Seeded weights of BERT-like scale (not trained weights): W ~ N(0, 1 / fan_in),
    biases ~ N(0, 0.02^2), LayerNorm gamma ~ 1 + N(0, 0.05^2), beta ~ N(0, 0.02^2).
    ffn defaults to 4 hidden; heads must divide hidden."""
    d = check_int(hidden, "hidden", 1)
    h = check_int(heads, "heads", 1)
    if d % h:
        raise ValueError(f"heads={h} must divide hidden={d}")
    f = 4 * d if ffn is None else check_int(ffn, "ffn", 1)
    rng = np.random.default_rng(check_int(seed, "seed", 0))

    def w(i: int, o: int) -> np.ndarray:
        return rng.normal(0, 1 / math.sqrt(i), (i, o))

    def b(n: int, s: float = 0.02) -> np.ndarray:
        return rng.normal(0, s, n)

    return EncoderWeights(w(d, d), b(d), w(d, d), b(d), w(d, d), b(d), w(d, d), b(d),
                          1 + b(d, 0.05), b(d), w(d, f), b(f), w(f, d), b(d),
                          1 + b(d, 0.05), b(d), h)


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def _layernorm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def float_encoder(x: npt.ArrayLike, w: EncoderWeights) -> dict[str, np.ndarray]:
    """The float64 layer on x (seq x d): q, k, v = x W + b; per head scores = q_h k_h^T /
    sqrt(d_h), probs = softmax(scores), context = probs v_h; attn = context W_o + b_o;
    h = LayerNorm(x + attn); f1 = h W_1 + b_1; g = GELU(f1) (erf form); f2 = g W_2 + b_2;
    out = LayerNorm(h + f2) (eps 1e-12). Returns every named intermediate and "out"."""
    xv = float64_array(x, "x")
    d, H = w.hidden, w.heads
    dh = d // H
    q, k, v = xv @ w.wq + w.bq, xv @ w.wk + w.bk, xv @ w.wv + w.bv
    L = xv.shape[0]
    qh, kh, vh = (t.reshape(L, H, dh).transpose(1, 0, 2) for t in (q, k, v))
    scores = qh @ kh.transpose(0, 2, 1) / math.sqrt(dh)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    ctx = (probs @ vh).transpose(1, 0, 2).reshape(L, d)
    attn = ctx @ w.wo + w.bo
    r1 = xv + attn
    h = _layernorm(r1, w.ln1_gamma, w.ln1_beta)
    f1 = h @ w.w1 + w.b1
    g = _gelu(f1)
    f2 = g @ w.w2 + w.b2
    r2 = h + f2
    out = _layernorm(r2, w.ln2_gamma, w.ln2_beta)
    return {"q": q, "k": k, "v": v, "scores": scores, "probs": probs, "context": ctx,
            "attn": attn, "residual1": r1, "h": h, "ffn1": f1, "gelu": g, "ffn2": f2,
            "residual2": r2, "out": out}


def sqnr_db(reference: npt.ArrayLike, approx: npt.ArrayLike) -> float:
    """Signal-to-quantization-noise ratio 10 log10(sum(ref^2) / sum((ref - approx)^2))."""
    r, a = float64_array(reference, "reference"), float64_array(approx, "approx")
    noise = float(np.sum((r - a) ** 2))
    return math.inf if noise == 0 else 10 * math.log10(float(np.sum(r * r)) / noise)


@dataclass
class EncoderResult:
    """An integer-only forward pass: ``codes`` (int8, seq x d) at ``scale``;
    ``intermediates`` name -> (codes, scale, declared signed bits); ``cycles`` GEMM name ->
    systolic-array cycles (empty without an array); ``saturated`` requantization name ->
    number of values clamped to the declared width."""

    codes: np.ndarray
    scale: float
    intermediates: dict[str, tuple[np.ndarray, float, int]] = field(default_factory=dict)
    cycles: dict[str, int] = field(default_factory=dict)
    saturated: dict[str, int] = field(default_factory=dict)

    def dequantize(self) -> np.ndarray:
        """codes * scale (float64)."""
        return self.codes * self.scale


def _sym_scale(a: np.ndarray, bits: int) -> float:
    m = float(np.max(np.abs(a)))
    return (m if m > 0 else 1.0) / ((1 << (bits - 1)) - 1)


def _quant(a: np.ndarray, scale: float, bits: int) -> np.ndarray:
    lim = (1 << (bits - 1)) - 1
    return np.clip(np.round(a / scale), -lim - 1, lim).astype(np.int64)


class IntegerEncoder:
    """The integer-only encoder layer built from float weights and a calibration input.

    Build time (float, once): weights -> int8 codes per tensor (symmetric, max |w| / 127);
    biases -> int32 codes at S_in S_w (rounded half to even); every activation scale from
    the float layer run on ``calib_x`` (symmetric max-abs: int8 activations, 16-bit
    residual operands); every requantization as a HAWQ-V3 dyadic number (m, e) =
    ``intops.dyadic_scale(S_acc / S_out)``; the I-BERT constants inside
    ``intops.i_softmax`` / ``i_gelu`` / ``i_layernorm``. Run time (``forward``): integers
    only. Widths: GEMM accumulators int32 with ``overflow="raise"`` (OverflowError naming
    the op), requantized activations int8 (residual operands int16, their sums 17 bits),
    softmax probabilities unsigned ``softmax_bits``, i-GELU and i-LayerNorm outputs int32;
    requantization clamps to its width (counted in ``EncoderResult.saturated``).
    """

    def __init__(self, w: EncoderWeights, calib_x: npt.ArrayLike, *, softmax_bits: int = 8,
                 frac_bits: int = 14) -> None:
        self.softmax_bits = check_int(softmax_bits, "softmax_bits", 2, 16)
        self.frac_bits = check_int(frac_bits, "frac_bits", 0, 20)
        cx = float64_array(calib_x, "calib_x")
        if cx.ndim != 2 or cx.shape[1] != w.hidden:
            raise ValueError(f"calib_x must have shape (seq, {w.hidden}), got {cx.shape}")
        ref = float_encoder(cx, w)
        self.heads, self.hidden = w.heads, w.hidden
        self.s_x = _sym_scale(cx, 8)
        s: dict[str, float] = {}
        for name in ("q", "k", "v", "context", "h", "ffn1", "gelu", "out"):
            s[name] = _sym_scale(ref[name], 8)
        s["residual1"] = _sym_scale(np.concatenate([ref["attn"], cx], axis=None), 16)
        s["residual2"] = _sym_scale(np.concatenate([ref["ffn2"], ref["h"]], axis=None), 16)
        self.scales = s
        self.w: dict[str, np.ndarray] = {}
        self.s_w: dict[str, float] = {}
        self.bias: dict[str, np.ndarray] = {}
        ins = {"q": self.s_x, "k": self.s_x, "v": self.s_x, "out_proj": s["context"],
               "ffn1": s["h"], "ffn2": s["gelu"]}
        for name, W, B in (("q", w.wq, w.bq), ("k", w.wk, w.bk), ("v", w.wv, w.bv),
                           ("out_proj", w.wo, w.bo), ("ffn1", w.w1, w.b1),
                           ("ffn2", w.w2, w.b2)):
            sw = _sym_scale(W, 8)
            self.w[name], self.s_w[name] = _quant(W, sw, 8), sw
            self.bias[name] = np.clip(np.round(B / (ins[name] * sw)), *_INT32).astype(np.int64)
        self.ln: dict[str, tuple[np.ndarray, float, np.ndarray]] = {}
        n = self.hidden
        for name, G, Bt in (("ln1", w.ln1_gamma, w.ln1_beta), ("ln2", w.ln2_gamma, w.ln2_beta)):
            sg = _sym_scale(G, 8)
            s_out = math.sqrt(n) * 2.0 ** -self.frac_bits * sg
            self.ln[name] = (_quant(G, sg, 8), sg,
                             np.clip(np.round(Bt / s_out), *_INT32).astype(np.int64))
        self.dh = self.hidden // self.heads
        self.s_scores = s["q"] * s["k"] / math.sqrt(self.dh)
        # GELU output scale (positive, from i_gelu's constants) for the requantization after it
        self.s_gelu_int = intops.i_gelu(np.zeros(1, np.int64), s["ffn1"])[1]
        self.s_ln = {k: math.sqrt(n) * 2.0 ** -self.frac_bits * v[1] for k, v in self.ln.items()}
        ratios = {
            "q": self.s_x * self.s_w["q"] / s["q"], "k": self.s_x * self.s_w["k"] / s["k"],
            "v": self.s_x * self.s_w["v"] / s["v"],
            "context": 2.0 ** -self.softmax_bits * s["v"] / s["context"],
            "attn": s["context"] * self.s_w["out_proj"] / s["residual1"],
            "x_res": self.s_x / s["residual1"],
            "h": self.s_ln["ln1"] / s["h"],
            "ffn1": s["h"] * self.s_w["ffn1"] / s["ffn1"],
            "gelu": self.s_gelu_int / s["gelu"],
            "ffn2": s["gelu"] * self.s_w["ffn2"] / s["residual2"],
            "h_res": s["h"] / s["residual2"],
            "out": self.s_ln["ln2"] / s["out"],
        }
        self.dyadic = {k: intops.dyadic_scale(r) for k, r in ratios.items()}

    # ------------------------------------------------------------------ helpers
    def quantize_input(self, x: npt.ArrayLike) -> np.ndarray:
        """x as int8 codes at the calibrated input scale ``s_x`` (float, outside the
        integer path)."""
        return _quant(float64_array(x, "x"), self.s_x, 8)

    def _requant(self, name: str, acc: np.ndarray, bits: int, res: EncoderResult) -> np.ndarray:
        m, e = self.dyadic[name]
        lim = 1 << (bits - 1)
        out = intops.dyadic_requantize(acc, m, e, bits=bits)
        # a value at the clamp whose exact quotient lies beyond it was saturated
        exact = intops.dyadic_requantize(acc, m, e, bits=32)
        res.saturated[name] = res.saturated.get(name, 0) + int(np.count_nonzero(
            (exact > lim - 1) | (exact < -lim)))
        return out

    def _gemm(self, name: str, a: np.ndarray, b: np.ndarray, bias: np.ndarray | None,
              array: SystolicArray | None, simulate: bool, res: EncoderResult) -> np.ndarray:
        M, K = a.shape
        N = b.shape[1]
        if array is None:
            acc = intops.gemm(a, b, acc_bits=32, overflow="raise",
                              bias=None if bias is None else np.broadcast_to(bias, (M, N)))
        else:
            a_bits = max(8, int(max(int(a.max()), -int(a.min()) - 1, 0)).bit_length() + 1)
            arr = SystolicArray(array.rows, array.cols, array.dataflow, a_bits=a_bits,
                                b_bits=8, acc_bits=32, overflow="raise", pe=array.pe)
            if simulate:
                r = arr.run(a, b)
                acc, cyc = r.output, r.cycles
            else:
                acc = intops.gemm(a, b, acc_bits=32, overflow="raise")
                cyc = arr.cycle_model(M, N, K, arr.beats(a, b))
            res.cycles[name] = res.cycles.get(name, 0) + int(cyc)
            if bias is not None:
                acc = acc + bias
        lo, hi = _INT32
        if acc.size and (int(acc.min()) < lo or int(acc.max()) > hi):
            raise OverflowError(f"{name}: the int32 accumulator (with bias) leaves int32")
        return np.asarray(acc, np.int64)

    @staticmethod
    def _record(res: EncoderResult, name: str, codes: np.ndarray, scale: float, bits: int,
                unsigned: bool = False) -> None:
        lo, hi = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        if codes.size and (int(codes.min()) < lo or int(codes.max()) > hi):
            raise OverflowError(f"{name} leaves its declared {bits}-bit width")
        res.intermediates[name] = (codes, scale, bits)

    # ------------------------------------------------------------------ forward
    def forward(self, x_codes: npt.ArrayLike, *, array: SystolicArray | None = None,
                simulate: bool = False) -> EncoderResult:
        """The integer-only layer on int8 codes x (seq x d) at ``s_x``. ``array``: a
        ``SystolicArray`` whose rows, cols, dataflow and pe are used for every GEMM (an
        array of that shape with int32 accumulators that raise on overflow and operand
        widths of the op); the cycles per GEMM come from its cycle model, or, with
        ``simulate=True``, from the register-level simulation that also computes the
        GEMM (its result then replaces ``intops.gemm``'s, which it equals)."""
        simulate = check_bool(simulate, "simulate")
        if simulate and array is None:
            raise ValueError("simulate=True needs an array")
        if array is not None and not isinstance(array, SystolicArray):
            raise TypeError(f"array must be a SystolicArray, got {type(array).__name__}")
        x = int_array(x_codes, "x_codes", -128, 127, floats=False)
        if x.ndim != 2 or x.shape[1] != self.hidden:
            raise ValueError(f"x_codes must have shape (seq, {self.hidden}), got {x.shape}")
        s, H, dh = self.scales, self.heads, self.dh
        res = EncoderResult(np.zeros(0, np.int64), s["out"])
        L = x.shape[0]
        self._record(res, "x", x, self.s_x, 8)
        qkv = {}
        for name in ("q", "k", "v"):
            acc = self._gemm(name, x, self.w[name], self.bias[name], array, simulate, res)
            qkv[name] = self._requant(name, acc, 8, res)
            self._record(res, name, qkv[name], s[name], 8)
        ctx = np.empty((L, self.hidden), np.int64)
        probs_all = []
        for h in range(H):
            sl = slice(h * dh, (h + 1) * dh)
            qh, kh, vh = qkv["q"][:, sl], qkv["k"][:, sl], qkv["v"][:, sl]
            scores = self._gemm("scores", qh, np.ascontiguousarray(kh.T), None, array,
                                simulate, res)
            probs, _ = intops.i_softmax(scores, self.s_scores, bits=32,
                                        out_bits=self.softmax_bits)
            probs_all.append(probs)
            cacc = self._gemm("context", probs, vh, None, array, simulate, res)
            ctx[:, sl] = self._requant("context", cacc, 8, res)
        self._record(res, "probs", np.stack(probs_all), 2.0 ** -self.softmax_bits,
                     self.softmax_bits, unsigned=True)
        self._record(res, "context", ctx, s["context"], 8)
        acc = self._gemm("out_proj", ctx, self.w["out_proj"], self.bias["out_proj"], array,
                         simulate, res)
        r1 = self._requant("attn", acc, 16, res) + self._requant("x_res", x, 16, res)
        self._record(res, "residual1", r1, s["residual1"], 17)
        g1, _, b1 = self.ln["ln1"]
        ln1, _ = intops.i_layernorm(r1, s["residual1"], g1, b1, gamma_scale=self.ln["ln1"][1],
                                    frac_bits=self.frac_bits, bits=17, out_bits=32)
        self._record(res, "ln1", ln1, self.s_ln["ln1"], 32)
        hcodes = self._requant("h", ln1, 8, res)
        self._record(res, "h", hcodes, s["h"], 8)
        acc = self._gemm("ffn1", hcodes, self.w["ffn1"], self.bias["ffn1"], array, simulate, res)
        f1 = self._requant("ffn1", acc, 8, res)
        self._record(res, "ffn1", f1, s["ffn1"], 8)
        gi, sg = intops.i_gelu(f1, s["ffn1"], bits=8, out_bits=32)
        self._record(res, "gelu_int", gi, sg, 32)
        g8 = self._requant("gelu", gi, 8, res)
        self._record(res, "gelu", g8, s["gelu"], 8)
        acc = self._gemm("ffn2", g8, self.w["ffn2"], self.bias["ffn2"], array, simulate, res)
        r2 = self._requant("ffn2", acc, 16, res) + self._requant("h_res", hcodes, 16, res)
        self._record(res, "residual2", r2, s["residual2"], 17)
        g2, _, b2 = self.ln["ln2"]
        ln2, _ = intops.i_layernorm(r2, s["residual2"], g2, b2, gamma_scale=self.ln["ln2"][1],
                                    frac_bits=self.frac_bits, bits=17, out_bits=32)
        self._record(res, "ln2", ln2, self.s_ln["ln2"], 32)
        out = self._requant("out", ln2, 8, res)
        self._record(res, "out", out, s["out"], 8)
        res.codes = out
        return res

    def __repr__(self) -> str:
        return (f"IntegerEncoder(hidden={self.hidden}, heads={self.heads}, "
                f"softmax_bits={self.softmax_bits}, frac_bits={self.frac_bits})")
