"""Numba kernels of refquant (installed as ``refquant.kernels``).

Pure functions over NumPy arrays: no classes, no policy, no validation. Each writes
into an ``out`` array it is given and states its exact semantics in its docstring.
The validating public API lives in ``refquant``; call that unless you need the raw kernel.
"""
