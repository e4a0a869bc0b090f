"""What an installed milekit must do, run where it is installed: by tests/test_wheel.py in a
fresh venv without a compiler, and by cibuildwheel's ``test-command`` on every platform.

The C page decoder is active (``milekit.types.schema.native_status()``), and a sandbox read
through it equals, exactly, the same read through Arrow's reader (the decoder turned off).
Prints one JSON line: where milekit and its decoder were imported from, and the row count::

    python tests/wheel_check.py      # exit 0, or an AssertionError saying what is wrong

>>> callable(main)
True
"""

from __future__ import annotations

import json


def main() -> None:
    """Asserts the decoder is active and both parsers read the same frame; prints where from."""
    import pandas as pd

    import milekit
    from milekit.types import schema

    active, why = schema.native_status()
    assert active, why
    with milekit.Sandbox(tasks=200) as sb:
        with milekit.Client(sb.token, sb.url, limiter="process") as client:
            fast = milekit.tasks_frame(client=client, progress=False)
            schema.NATIVE = False  # what MILEKIT_NATIVE=0 sets: pages take Arrow's reader
            try:
                slow = milekit.tasks_frame(client=client, progress=False)
            finally:
                schema.NATIVE = True
    assert len(fast) == 200, len(fast)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    where = {"milekit": milekit.__file__, "decoder": schema._pagejson.__file__}
    print(json.dumps({**where, "rows": len(fast), "status": why}))


if __name__ == "__main__":
    main()
