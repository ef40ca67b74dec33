"""Package discovery: every package under refquant/ (so a new family package needs no
edit here) plus the top-level kernels/ folder installed as refquant.kernels."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["refquant", "refquant.*"]) + ["refquant.kernels"],
    package_dir={"refquant.kernels": "kernels"},
)
