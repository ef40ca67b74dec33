from .tensorcore import TensorCore  # noqa: F401
from .systolic import SystolicArray, SystolicResult, cycle_model, scalesim_report  # noqa: F401
from .vcd import write_vcd  # noqa: F401
