"""The sandbox's resource modules: one a registry tag, named by it in snake case (a
package where a tag needs more than one module).

>>> from milekit.types.registry import RESOURCES
>>> RESOURCES["task_schedules"].tag, RESOURCES["export_logs"].tag
('Task Schedule', 'Export Task')

So :mod:`~milekit.sandbox.resources.task_schedule` serves the resources tagged
``Task Schedule``, :mod:`~milekit.sandbox.resources.export_task` those tagged
``Export Task``. Each module has ``routes(ctx)``: its resources' standard operations
(list, get, create, update, patch, delete) from a
:class:`~milekit.sandbox.generic.StoredResource` subclass that declares only what the
resource does differently, then its irregular actions. The modules: the package
``task`` (``service``: the task list, its filters and the writes; ``extras``: gallery,
public view, tracking, photos), ``task_schedule``, ``activity``, ``location_history``,
``flow``, ``automation``, ``data_source``, ``data_type``, ``vehicle``, ``routing``
(routing results, optimisation, dispatch), ``export_config``, ``export_task``,
``data_import``, ``user``, ``team``, ``role``, ``hub``, ``plugin`` and
``app_integration``.
"""
