"""``python -m refquant``: the ``refquant`` command."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
