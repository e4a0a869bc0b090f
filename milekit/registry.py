"""The registry under its stable name: every resource, view and child table as data.

>>> import milekit.registry
>>> milekit.registry.RESOURCES["tasks"].rows.id_field
'_id'

The same objects as :mod:`milekit.types.registry` (where the registry is built), kept at
this path for scripts that name it.
"""

from milekit.types.registry import *  # noqa: F403
from milekit.types.registry import __all__ as __all__
