"""The ground of the demo organisation: its anchor dates, the :class:`Org` it fills and
the spellings and ids every group of seeded documents shares.

>>> iso(TASKS_FROM), naive(TASKS_FROM + 61), ts_of("2026-08-01T00:00:00+00:00") == TASKS_FROM
('2026-08-01T00:00:00+00:00', '2026-08-01 00:01:01', True)

Everything comes from a seeded ``random.Random`` and fixed anchor dates (tasks are created
between 2026-08-01 and 2026-10-29 UTC; "now" for their statuses is 2026-10-30), never
from the wall clock, so the same seed gives the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from milekit.types.registry import RESOURCES

Doc = dict[str, Any]
#: the registry's tasks, whose field names and enums the seed reads
TASK_SPEC = RESOURCES["tasks"]

#: Tasks are created in [TASKS_FROM, TASKS_TO); statuses are as seen at SEED_NOW.
TASKS_FROM = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp())
TASKS_TO = int(datetime(2026, 10, 30, tzinfo=UTC).timestamp())
SEED_NOW = TASKS_TO
ORG_CREATED = int(datetime(2026, 1, 12, 3, 15, tzinfo=UTC).timestamp())
#: the hubs' local time (Asia/Jakarta, WIB): their working day is 07:00-18:00 local
HUB_UTC_OFFSET = 7 * 3600
WORKDAY = (7 * 3600, 18 * 3600)
DEMO_DOMAIN = "demo.mile.app"
ADMIN = "admin@demo.mile.app"
STORAGE = f"https://storage.{DEMO_DOMAIN}"


@dataclass
class Org:
    """The demo organisation: JSON-ready documents, one list per resource.

    >>> from milekit.sandbox.seed import build_org
    >>> org = build_org(tasks=3)
    >>> org.me["email"], sorted(org.resources())[:4]
    ('admin@demo.mile.app', ['activities', 'app_integrations', 'automation_logs', 'automations'])
    """

    organization: Doc
    me: Doc  #: the API user behind the sandbox token (``GET /user``, legacy snake_case)
    hubs: list[Doc] = field(default_factory=list)
    flows: list[Doc] = field(default_factory=list)
    users: list[Doc] = field(default_factory=list)
    vehicles: list[Doc] = field(default_factory=list)
    tasks: list[Doc] = field(default_factory=list)
    # built after the tasks by the later groups (seed.build.add_extras), from their own stream
    roles: list[Doc] = field(default_factory=list)
    teams: list[Doc] = field(default_factory=list)
    task_schedules: list[Doc] = field(default_factory=list)
    workflows: list[Doc] = field(default_factory=list)  #: internal: steps of activities
    activities: list[Doc] = field(default_factory=list)
    location_histories: list[Doc] = field(default_factory=list)
    flow_logs: list[Doc] = field(default_factory=list)
    automations: list[Doc] = field(default_factory=list)
    automation_logs: list[Doc] = field(default_factory=list)
    data_types: list[Doc] = field(default_factory=list)
    data: list[Doc] = field(default_factory=list)
    routing_results: list[Doc] = field(default_factory=list)
    routing_histories: list[Doc] = field(default_factory=list)  #: GET /result/{id}/history
    export_configs: list[Doc] = field(default_factory=list)
    export_logs: list[Doc] = field(default_factory=list)
    import_monitoring: list[Doc] = field(default_factory=list)
    plugins: list[Doc] = field(default_factory=list)
    app_integrations: list[Doc] = field(default_factory=list)
    locked_members: list[Doc] = field(default_factory=list)  #: GET /members/locked

    def resources(self) -> dict[str, list[Doc]]:
        """The documents by resource (store collection) name."""
        return {
            "hubs": self.hubs,
            "flows": self.flows,
            "users": self.users,
            "vehicles": self.vehicles,
            "tasks": self.tasks,
            "roles": self.roles,
            "teams": self.teams,
            "task_schedules": self.task_schedules,
            "workflows": self.workflows,
            "activities": self.activities,
            "location_histories": self.location_histories,
            "flow_logs": self.flow_logs,
            "automations": self.automations,
            "automation_logs": self.automation_logs,
            "data_types": self.data_types,
            "data": self.data,
            "routing_results": self.routing_results,
            "routing_histories": self.routing_histories,
            "export_configs": self.export_configs,
            "export_logs": self.export_logs,
            "import_monitoring": self.import_monitoring,
            "plugins": self.plugins,
            "app_integrations": self.app_integrations,
            "locked_members": self.locked_members,
        }


# --- fast, allocation-light datetime spellings -------------------------------------------

_DAY_CACHE: dict[int, str] = {}


def day_of(ts: int) -> str:
    d = ts // 86400
    s = _DAY_CACHE.get(d)
    if s is None:
        s = _DAY_CACHE[d] = datetime.fromtimestamp(d * 86400, UTC).strftime("%Y-%m-%d")
    return s


def hms_of(ts: int) -> str:
    r = ts % 86400
    return f"{r // 3600:02d}:{r % 3600 // 60:02d}:{r % 60:02d}"


def iso(ts: int) -> str:
    """``2026-08-01T07:44:18+00:00`` (the tasks' usual spelling).

    >>> iso(TASKS_FROM + 27858)
    '2026-08-01T07:44:18+00:00'
    """
    return f"{day_of(ts)}T{hms_of(ts)}+00:00"


def iso_z(ts: int, micros: int = 0) -> str:
    """``2026-08-01T07:44:18.123456Z`` (microseconds + Z: flows, hubs, histories)."""
    return f"{day_of(ts)}T{hms_of(ts)}.{micros:06d}Z"


def naive(ts: int) -> str:
    """``2026-08-01 07:44:18``: data sources, location history, imports, automation logs."""
    return f"{day_of(ts)} {hms_of(ts)}"


def ts_of(value: Any) -> int | None:
    """Epoch seconds of an ISO 8601 string (naive means UTC); None for anything else.

    >>> ts_of("2026-08-01 00:00:00") == TASKS_FROM, ts_of(None), ts_of("soon")
    (True, None, None)
    """
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def local_day(ts: int) -> int:
    """The hubs' local day of ``ts``, counted from the one :data:`TASKS_FROM` falls in.

    >>> local_day(TASKS_FROM), local_day(TASKS_FROM + 17 * 3600), local_day(TASKS_FROM - 8 * 3600)
    (0, 1, -1)
    """
    return (ts + HUB_UTC_OFFSET - TASKS_FROM) // 86400


def in_workday(ts: int) -> int:
    """``ts`` if it falls in the local working day, else the matching instant of the next
    one (the night, 18:00-07:00 local, is squeezed into the next day's 07:00-18:00):
    seeded times of day belong to the hubs' local day (docs/api-notes.md note 56).

    >>> naive(in_workday(TASKS_FROM + 3600)), naive(in_workday(TASKS_FROM + 12 * 3600))
    ('2026-08-01 01:00:00', '2026-08-02 00:50:46')
    """
    lo, hi = WORKDAY
    loc = ts + HUB_UTC_OFFSET
    tod = loc % 86400
    if lo <= tod < hi:
        return ts
    night = (tod - hi) % 86400
    morning = loc - tod + (86400 if tod >= hi else 0) + lo
    return morning + night * (hi - lo) // (86400 - (hi - lo)) - HUB_UTC_OFFSET


def workday_end(ts: int) -> int:
    """The end (18:00 local) of the local day ``ts`` falls in.

    >>> naive(workday_end(TASKS_FROM + 3600))
    '2026-08-01 11:00:00'
    """
    loc = ts + HUB_UTC_OFFSET
    return loc - loc % 86400 + WORKDAY[1] - HUB_UTC_OFFSET


def object_id(rng: random.Random, ts: int) -> str:
    """A 24-hex ObjectId: 4 bytes of time, 8 bytes from the RNG."""
    return f"{ts & 0xFFFFFFFF:08x}{rng.getrandbits(64):016x}"


def coord_near(rand: Callable[[], float], lat: float, lng: float, spread: float = 0.08) -> str:
    return f"{lat + (rand() - 0.5) * spread:.6f},{lng + (rand() - 0.5) * spread:.6f}"
