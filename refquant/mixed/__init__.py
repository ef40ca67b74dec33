"""Hardware-aware mixed precision (HAWQ-V2 / HAWQ-V3): per-layer sensitivities from the
weights and a user-supplied Hessian trace, per-layer costs (size, BOPs, latency from
``refquant.sim``'s systolic-array cycle model), bit widths chosen by integer linear
programming under budgets, and the Pareto frontier of sensitivity against one cost."""
from ._hawq import (Assignment, ParetoPoint, layer_costs, pareto_frontier, select_bits,
                    sensitivity, sensitivity_table)

__all__ = [
    "sensitivity",
    "sensitivity_table",
    "layer_costs",
    "select_bits",
    "pareto_frontier",
    "Assignment",
    "ParetoPoint",
]
