"""refquant as the oracle in other projects' tests: bit-level assertions
(``assert_bit_exact``, ``assert_codes_equal``), comparison reports as data (``compare``),
and exhaustive sweeps of a candidate against refquant (``sweep``, ``run_preset``) on the
local cores or a Dask cluster. Importing this package imports no test framework, no
Hypothesis and no Dask; see docs/testing.md for a worked example."""
from ._assert import assert_bit_exact, assert_codes_equal, compare
from ._candidates import PEERS, Candidate, CandidateError
from ._domains import DOMAIN_FORMS, Domain, parse_domain
from ._presets import PRESETS, Preset, preset_names, run_preset
from ._report import CLASSES, PEER_DTYPES, format_report
from ._sweep import OPS, sweep, without_timing

__all__ = [
    "assert_bit_exact",
    "assert_codes_equal",
    "compare",
    "format_report",
    "CLASSES",
    "sweep",
    "without_timing",
    "OPS",
    "Domain",
    "parse_domain",
    "DOMAIN_FORMS",
    "Candidate",
    "CandidateError",
    "PEERS",
    "PEER_DTYPES",
    "Preset",
    "PRESETS",
    "preset_names",
    "run_preset",
]
