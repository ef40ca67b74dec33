"""ONNX export of quantized tensors: a ``QTensor`` (per tensor, per axis, blocked; block
formats such as MX included) as ONNX initializers and a ``DequantizeLinear`` node, or as a
``QuantizeLinear`` -> ``DequantizeLinear`` pair on a float input, built with onnx's
helper API (the ``onnx`` package is imported on first use: ``pip install onnx``).

The rule onnxruntime applies and that the export relies on (ONNX DequantizeLinear, opset
21): y = float32((q - zero_point) * scale), one rounding in float32, with ``axis`` and
``block_size`` broadcasting the scale as refquant's granularities do. It equals
``QTensor.dequantize(np.float32)`` whenever the scales are float32 values (refquant's
calibrated scales are, by default): integer codes give |q - z| * scale exactly in float64
and float8 / float4 codes give values of at most 4 significant bits, so both round the
same real number once. Scales that are not float32 values are refused rather than
rounded.

Codes: int4, uint4, int8, uint8, int16 and uint16 formats as the ONNX integer type of
their width; fixed-point formats qm.n of those widths as those integers with 2^-n folded
into the scale (exact); e4m3fn, e4m3fnuz, e5m2, e5m2fnuz as ONNX's FLOAT8 types. Block
formats (mxfp8_e4m3, mxfp8_e5m2, mxint8) export their element codes with one scale per
block (``block_size``) along their axis. Not exported: int32 (onnxruntime converts codes
beyond 2^24 to float32 before multiplying, a second rounding), FLOAT4E2M1 (no
onnxruntime kernel for DequantizeLinear-23 on the CPU: e2m1, mxfp4, nvfp4) and formats
ONNX has no type for.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import check_int
from .qtensor import QTensor

__all__ = ["ONNX_TYPES", "dequantize_linear", "quantize_dequantize", "to_model"]

#: refquant element format -> (ONNX TensorProto type name, lowest opset that takes it in
#: DequantizeLinear)
ONNX_TYPES: dict[str, tuple[str, int]] = {
    "int4": ("INT4", 21), "uint4": ("UINT4", 21), "int8": ("INT8", 10),
    "uint8": ("UINT8", 10), "int16": ("INT16", 21), "uint16": ("UINT16", 21),
    "e4m3fn": ("FLOAT8E4M3FN", 19),
    "e4m3fnuz": ("FLOAT8E4M3FNUZ", 19), "e5m2": ("FLOAT8E5M2", 19),
    "e5m2fnuz": ("FLOAT8E5M2FNUZ", 19),
}
DEFAULT_OPSET = 21   # blocked DequantizeLinear (block_size) needs opset 21


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("refquant.onnx needs the onnx package (pip install onnx)") from None
    return onnx


def _element(qt: QTensor) -> tuple[Any, str, float]:
    """(element format, its ONNX type name, factor folded into the scale) of ``qt``."""
    from .registry import format as _format
    fmt = qt.fmt
    el: Any = fmt
    if fmt.is_block:
        el = getattr(fmt, "element", None)
        el = _format(el) if isinstance(el, str) else el
        if el is None:
            raise ValueError(f"{fmt.name} names no element format")
    factor = 1.0
    name = el.name
    frac = getattr(el, "frac_bits", None)
    if frac is not None and hasattr(el, "int_bits"):  # fixed point q{m}.{n}: integers x 2^-n
        factor = 2.0 ** -int(frac)
        name = f"{'int' if el.min < 0 else 'uint'}{el.bits}"
    if name not in ONNX_TYPES:
        raise ValueError(f"{fmt.name} has no ONNX element type; exportable: "
                         f"{', '.join(ONNX_TYPES)}, fixed-point formats of those widths, and "
                         "block formats of those elements")
    return el, name, factor


def _float32_exact(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` as float32 when every value is a finite float32 value, else ValueError."""
    a32 = np.asarray(a, dtype=np.float64).astype(np.float32)
    if not (np.isfinite(a32).all() and np.array_equal(a32.astype(np.float64), a)):
        raise ValueError(f"{what} are not all float32 values; ONNX DequantizeLinear takes "
                         "float32 scales (quantize with the default scale_dtype=float32)")
    return a32


def _codes_tensor(onnx: Any, name: str, codes: np.ndarray, type_name: str) -> Any:
    """A TensorProto of ``codes`` (integers, or bit patterns of the float8 types)."""
    tp = getattr(onnx.TensorProto, type_name)
    dims = list(codes.shape)
    c = np.asarray(codes)
    if type_name.startswith("FLOAT8"):
        return onnx.helper.make_tensor(name, tp, dims, c.astype(np.uint8).tobytes(), raw=True)
    return onnx.helper.make_tensor(name, tp, dims, c.astype(np.int64).reshape(-1).tolist())


def _params(qt: QTensor, name: str, opset: int) -> tuple[dict[str, Any], list[Any], str]:
    """(DequantizeLinear attributes, [scale, zero point] initializers, element type name)."""
    onnx = _onnx()
    opset = check_int(opset, "opset", 10)
    el, type_name, factor = _element(qt)
    onnx_type, need = ONNX_TYPES[type_name]
    if opset < need:
        raise ValueError(f"{onnx_type} codes ({type_name}) need opset >= {need} in "
                         f"DequantizeLinear; got opset={opset}")
    view, block, s3, z3 = qt._scale3()
    ushape = np.shape(qt.scale)
    scale = _float32_exact(np.asarray(qt.scale, dtype=np.float64), f"the scales of {name}")
    if factor != 1.0:
        scale = _float32_exact(scale.astype(np.float64) * factor,
                               f"the scales of {name} times 2^-frac_bits")
    attrs: dict[str, Any] = {}
    g = qt.granularity
    if g == "axis":
        attrs["axis"] = int(qt.axis)  # type: ignore[arg-type]
    elif g == "block":
        if opset < 21:
            raise ValueError(f"blocked DequantizeLinear needs opset >= 21; got opset={opset}")
        attrs["axis"] = int(qt.axis)  # type: ignore[arg-type]
        attrs["block_size"] = int(block)
    if qt.codes.ndim == 0 and g != "tensor":  # pragma: no cover - quantize refuses it
        raise ValueError("a 0-d QTensor has per-tensor scaling only")
    dims = list(ushape) if g != "tensor" else []
    inits = [onnx.helper.make_tensor(f"{name}_scale", onnx.TensorProto.FLOAT, dims,
                                     scale.reshape(-1).tolist())]
    zp = np.asarray(qt.zero_point).astype(np.int64).reshape(ushape)
    if onnx_type.startswith("FLOAT"):
        if np.any(zp != 0):
            raise ValueError(f"{onnx_type} codes take no zero point; {name} has nonzero ones")
    else:
        inits.append(_codes_tensor(onnx, f"{name}_zero_point", zp, onnx_type))
    return attrs, inits, onnx_type


def dequantize_linear(qt: QTensor, name: str = "w", *, opset: int = DEFAULT_OPSET
                      ) -> tuple[list[Any], list[Any]]:
    """([DequantizeLinear node], [codes, scale, zero point initializers]) writing ``qt``
    as ONNX initializers: ``{name}_quantized`` (the codes in their ONNX type),
    ``{name}_scale`` (float32; shape () per tensor, (D,) per axis, blocked shape per
    block), ``{name}_zero_point`` (integer codes only) and a node whose output ``name``
    is the float32 dequantized tensor, equal to ``qt.dequantize(np.float32)``.
    ValueError for a format ONNX has no type for, scales that are not float32 values, or
    an ``opset`` too old for the codes or the blocking."""
    onnx = _onnx()
    attrs, inits, onnx_type = _params(qt, name, opset)
    _, type_name, _ = _element(qt)
    codes = np.asarray(qt.codes)
    qinit = _codes_tensor(onnx, f"{name}_quantized", codes, onnx_type)
    inputs = [f"{name}_quantized", f"{name}_scale"]
    if len(inits) > 1:
        inputs.append(f"{name}_zero_point")
    node = onnx.helper.make_node("DequantizeLinear", inputs, [name],
                                 name=f"{name}_DequantizeLinear", **attrs)
    return [node], [qinit] + inits


def quantize_dequantize(qt: QTensor, input_name: str, output_name: str | None = None, *,
                        opset: int = DEFAULT_OPSET) -> tuple[list[Any], list[Any]]:
    """([QuantizeLinear, DequantizeLinear], [scale, zero point initializers]): the QDQ
    pair with ``qt``'s scales, zero points, granularity and element type applied to the
    float tensor ``input_name`` (an activation or a float weight); its output
    ``output_name`` (default input_name + "_dq"). onnxruntime quantizes as
    ``refquant.quantize(x, fmt, scale=qt.scale, zero_point=qt.zero_point,
    compat="onnx")`` does for integer formats (round(float32(x / s)) + z, half to even,
    saturated); the codes of ``qt`` itself are not written."""
    onnx = _onnx()
    base = output_name or f"{input_name}_dq"
    attrs, inits, _ = _params(qt, base, opset)
    inputs = [f"{base}_scale"] + ([f"{base}_zero_point"] if len(inits) > 1 else [])
    q = onnx.helper.make_node("QuantizeLinear", [input_name] + inputs, [f"{base}_quantized"],
                              name=f"{base}_QuantizeLinear", **attrs)
    dq = onnx.helper.make_node("DequantizeLinear", [f"{base}_quantized"] + inputs, [base],
                               name=f"{base}_DequantizeLinear", **attrs)
    return [q, dq], inits


def to_model(qt: QTensor, name: str = "w", *, qdq: bool = False,
             opset: int = DEFAULT_OPSET) -> Any:
    """An ``onnx.ModelProto`` holding ``qt``: with ``qdq=False`` (default) no inputs, the
    initializers and DequantizeLinear of ``dequantize_linear`` and the output ``name``
    (float32, qt's shape); with ``qdq=True`` a float32 input ``{name}_float`` of qt's
    shape through ``quantize_dequantize`` to the output ``name``. The model passes
    ``onnx.checker.check_model``; save it with ``onnx.save(model, path)``."""
    onnx = _onnx()
    shape = list(np.shape(qt.codes))
    inputs = []
    if qdq:
        src = f"{name}_float"
        nodes, inits = quantize_dequantize(qt, src, name, opset=opset)
        inputs = [onnx.helper.make_tensor_value_info(src, onnx.TensorProto.FLOAT, shape)]
    else:
        nodes, inits = dequantize_linear(qt, name, opset=opset)
    out = onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)
    graph = onnx.helper.make_graph(nodes, f"refquant_{name}", inputs, [out],
                                   initializer=inits)
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    model = onnx.helper.make_model(graph, opset_imports=opsets,
                                   producer_name="refquant")
    model.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    return model
