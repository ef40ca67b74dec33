"""Package discovery: every package under refquant/ (so a new family package needs no
edit here), the top-level kernels/ folder installed as refquant.kernels, and the reference
Verilog of rtl/ installed as data in refquant/rtl (found by refquant.hw.rtl_dir)."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["refquant", "refquant.*"]) + ["refquant.kernels",
                                                                  "refquant.rtl"],
    package_dir={"refquant.kernels": "kernels", "refquant.rtl": "rtl"},
)
