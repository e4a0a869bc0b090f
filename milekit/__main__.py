"""``python -m milekit`` is the ``milekit`` command (for when the script is not on PATH)."""

from milekit.cli import entry

if __name__ == "__main__":
    entry()
