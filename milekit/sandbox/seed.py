"""A deterministic demo organisation: hubs, flows, users, vehicles and tasks.

>>> org = build_org(seed=7, tasks=50)
>>> len(org.hubs), len(org.flows), len(org.tasks), org == build_org(seed=7, tasks=50)
(8, 4, 50, True)

Everything comes from ``random.Random(seed)`` and fixed anchor dates (tasks are created
between 2026-08-01 and 2026-10-29 UTC; "now" for their statuses is 2026-10-30), never
from the wall clock, so the same seed gives the same bytes. The documents reproduce the
reference's quirks (``../shared/mileapp-api.md`` §3): mixed datetime spellings of the
same field across tasks (all denoting correct UTC instants), keys missing when never set
next to explicit ``null``s, custom flow fields at the task's top level, ``"lat,lng"``
strings, times of day spelled ``"08:34:00"``/``"08:34"``/``"8:34"``, epoch-derived
``orderIndex`` values and creator fields holding e-mails, display names or ``"System"``.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

Doc = dict[str, Any]

#: Tasks are created in [TASKS_FROM, TASKS_TO); statuses are as seen at SEED_NOW.
TASKS_FROM = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp())
TASKS_TO = int(datetime(2026, 10, 30, tzinfo=UTC).timestamp())
SEED_NOW = TASKS_TO
ORG_CREATED = int(datetime(2026, 1, 12, 3, 15, tzinfo=UTC).timestamp())
DEMO_DOMAIN = "demo.mile.app"

_HUBS: tuple[tuple[str, float, float, str, str], ...] = (
    # city, lat, lng, address, plate prefix
    ("Jakarta", -6.208763, 106.845599, "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan", "B"),
    ("Surabaya", -7.257472, 112.752090, "Jl. Basuki Rahmat No. 8, Surabaya", "L"),
    ("Bandung", -6.917464, 107.619123, "Jl. Asia Afrika No. 65, Bandung", "D"),
    ("Medan", 3.595196, 98.672226, "Jl. Gatot Subroto No. 30, Medan", "BK"),
    ("Makassar", -5.147665, 119.432732, "Jl. Jend. Sudirman No. 15, Makassar", "DD"),
    ("Denpasar", -8.670458, 115.212629, "Jl. Teuku Umar No. 88, Denpasar", "DK"),
    ("Semarang", -6.966667, 110.416664, "Jl. Pemuda No. 120, Semarang", "H"),
    ("Yogyakarta", -7.795580, 110.369492, "Jl. Malioboro No. 52, Yogyakarta", "AB"),
)
_HUB_WEIGHTS = (30, 16, 13, 10, 8, 8, 8, 7)

# fmt: off
_FIRST = (
    "Budi", "Siti", "Agus", "Dewi", "Andi", "Rina", "Joko", "Sri", "Ahmad", "Putri", "Eko",
    "Wulan", "Hendra", "Ayu", "Rudi", "Fitri", "Bambang", "Indah", "Yusuf", "Lestari", "Dimas",
    "Nur", "Fajar", "Ratna", "Rizky", "Maya", "Teguh", "Sari", "Arief", "Intan", "Wahyu",
    "Kartika", "Hadi", "Dian", "Surya", "Mega", "Irfan", "Novi", "Bayu", "Anisa",
)
_LAST = (
    "Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Nugroho", "Kusuma", "Setiawan",
    "Siregar", "Nasution", "Sihombing", "Gunawan", "Halim", "Purnomo", "Wibowo", "Susanto",
    "Hakim", "Rahman", "Syahputra", "Tanjung", "Lubis", "Harahap", "Simanjuntak", "Putra",
    "Utami", "Permana", "Firmansyah",
)
# fmt: on
_STREETS = (
    "Jl. Merdeka",
    "Jl. Diponegoro",
    "Jl. Gajah Mada",
    "Jl. Ahmad Yani",
    "Jl. Imam Bonjol",
    "Jl. Pahlawan",
    "Jl. Veteran",
    "Jl. Kartini",
    "Jl. Hayam Wuruk",
    "Jl. Pemuda",
    "Jl. Cendrawasih",
    "Jl. Melati",
    "Jl. Kenanga",
    "Jl. Anggrek",
    "Jl. Sisingamangaraja",
    "Jl. Raya Bogor",
)
_ITEMS = (
    ("Beras 5kg", 68000),
    ("Minyak Goreng 2L", 36000),
    ("Gula Pasir 1kg", 17500),
    ("Kopi Bubuk 200g", 24000),
    ("Teh Celup (isi 25)", 9500),
    ("Mi Instan (dus)", 115000),
    ("Sabun Mandi", 4500),
    ("Air Mineral 600ml (dus)", 52000),
    ("Susu UHT 1L", 19000),
    ("Kecap Manis 520ml", 23500),
)
_PURPOSES = ("Meter Reading", "Maintenance", "Sales Visit", "Survey", "Collection")
_RESULTS = ("Completed", "Customer Absent", "Rescheduled", "Refused")
_LABELS = ("Priority", "COD", "Fragile", "Same Day", "Return")
_PICKUP_NOTES = ("Ambil di lobi", "Hubungi sebelum datang", "Barang di pos satpam", "")

#: flow name -> (weight, components: (id, component, inputType, title, isRequired, options))
_FLOWS: dict[str, tuple[int, tuple[tuple[str, str, str, str, bool, tuple[str, ...]], ...]]] = {
    "Delivery": (
        50,
        (
            ("receiverName", "input", "string", "Receiver Name", True, ()),
            ("receiverPhone", "input", "phone", "Receiver Phone", False, ()),
            ("packageWeight", "input", "number", "Package Weight (kg)", False, ()),
            ("codAmount", "input", "number", "COD Amount (IDR)", False, ()),
            ("items", "list", "list", "Items", False, ()),
            ("deliveryPhoto", "photo", "photo", "Proof of Delivery", True, ()),
        ),
    ),
    "Pickup": (
        20,
        (
            ("senderName", "input", "string", "Sender Name", True, ()),
            ("parcelCount", "input", "number", "Parcel Count", True, ()),
            ("pickupNotes", "input", "textarea", "Pickup Notes", False, ()),
        ),
    ),
    "Visit": (
        20,
        (
            ("customerName", "input", "string", "Customer Name", True, ()),
            ("visitPurpose", "select", "string", "Visit Purpose", True, _PURPOSES),
            ("visitResult", "select", "string", "Visit Result", True, _RESULTS),
            ("meterReading", "input", "number", "Meter Reading", False, ()),
            ("visitLocation", "input", "coordinate", "Visit Location", False, ()),
        ),
    ),
    "House Inspection": (
        10,
        (
            ("ownerName", "input", "string", "Owner Name", True, ()),
            ("rooms", "input", "number", "Rooms", True, ()),
            ("inspectionDate", "input", "date", "Inspection Date", False, ()),
            ("inspectionPassed", "select", "boolean", "Inspection Passed", True, ("true", "false")),
            ("ownerSignature", "signature", "signature", "Owner Signature", False, ()),
        ),
    ),
}


@dataclass
class Org:
    """The demo organisation: JSON-ready documents, one list per resource.

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
    # built after the tasks by milekit.sandbox.seed_extra, from their own random stream
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


def _day(ts: int) -> str:
    d = ts // 86400
    s = _DAY_CACHE.get(d)
    if s is None:
        s = _DAY_CACHE[d] = datetime.fromtimestamp(d * 86400, UTC).strftime("%Y-%m-%d")
    return s


def _hms(ts: int) -> str:
    r = ts % 86400
    return f"{r // 3600:02d}:{r % 3600 // 60:02d}:{r % 60:02d}"


def iso(ts: int) -> str:
    """``2026-08-01T07:44:18+00:00`` (the tasks' usual spelling).

    >>> iso(TASKS_FROM + 27858)
    '2026-08-01T07:44:18+00:00'
    """
    return f"{_day(ts)}T{_hms(ts)}+00:00"


def iso_z(ts: int, micros: int = 0) -> str:
    """``2026-08-01T07:44:18.123456Z`` (microseconds + Z: flows, hubs, histories)."""
    return f"{_day(ts)}T{_hms(ts)}.{micros:06d}Z"


def _mixed(ts: int, r: float, rand: Callable[[], float]) -> str:
    """One of four spellings of the instant ``ts``, chosen by ``r`` in [0, 1).

    The microsecond spelling adds ``rand()`` microseconds: still the right instant.
    """
    if r < 0.82:
        return f"{_day(ts)}T{_hms(ts)}+00:00"
    if r < 0.90:
        return f"{_day(ts)} {_hms(ts)}"  # naive, UTC
    if r < 0.95:
        loc = ts + 7 * 3600
        return f"{_day(loc)}T{_hms(loc)}.000+07:00"
    return f"{_day(ts)}T{_hms(ts)}.{int(rand() * 1_000_000):06d}Z"


def _oid(rng: random.Random, ts: int) -> str:
    """A 24-hex ObjectId: 4 bytes of time, 8 bytes from the RNG."""
    return f"{ts & 0xFFFFFFFF:08x}{rng.getrandbits(64):016x}"


def _coord(rand: Callable[[], float], lat: float, lng: float, spread: float = 0.08) -> str:
    return f"{lat + (rand() - 0.5) * spread:.6f},{lng + (rand() - 0.5) * spread:.6f}"


def _time_of_day(rand: Callable[[], float], minutes: int) -> str:
    h, m = divmod(minutes % 1440, 60)
    r = rand()
    if r < 0.8:
        return f"{h:02d}:{m:02d}:00"
    if r < 0.9:
        return f"{h:02d}:{m:02d}"
    return f"{h}:{m:02d}"


# --- the organisation ---------------------------------------------------------------------


def _build_static(rng: random.Random) -> Org:
    org_id = _oid(rng, ORG_CREATED)
    organization = {
        "id": org_id,
        "name": "PT Demo Logistik Nusantara",
        "email": "ops@demo.mile.app",
    }
    country = {"_id": _oid(rng, ORG_CREATED), "name": "Indonesia", "code": "ID", "phoneCode": "+62"}
    hubs: list[Doc] = []
    for i, (city, lat, lng, address, _plate) in enumerate(_HUBS):
        ts = ORG_CREATED + 3600 * (i + 1)
        hubs.append(
            {
                "_id": _oid(rng, ts),
                "name": f"{city} Hub",
                "address": address,
                "lat": lat,
                "lng": lng,
                "country": country,
                "countryCode": "ID",
                "organizationId": org_id,
                "deleteAccess": i != 0,
                "createdTime": iso_z(ts, rng.randrange(1_000_000)),
                "updatedTime": iso_z(ts + 86400 * (i + 2), rng.randrange(1_000_000)),
            }
        )
    flows: list[Doc] = []
    for j, (name, (_w, comps)) in enumerate(_FLOWS.items()):
        ts = ORG_CREATED + 86400 + 7200 * j
        components = []
        for cid, comp, input_type, title, required, options in comps:
            c: Doc = {
                "id": cid,
                "component": comp,
                "inputType": input_type,
                "title": title,
                "isRequired": required,
            }
            if options:
                c["options"] = list(options)  # strings, as the contract's examples
            components.append(c)
        flows.append(
            {
                "_id": _oid(rng, ts),
                "name": name,
                "description": f"{name} tasks",
                "organizationId": org_id,
                "pages": [{"title": "Page 1", "components": components}],
                "version": 1 + j % 3,
                "createdBy": "admin@demo.mile.app",
                "createdTime": iso_z(ts, rng.randrange(1_000_000)),
                "updatedTime": iso_z(ts + 3 * 86400, rng.randrange(1_000_000)),
            }
        )
    roles = {
        name: {"_id": _oid(rng, ORG_CREATED), "name": name}
        for name in ("Admin", "Dispatcher", "Field Worker")
    }
    admin_ts = ORG_CREATED + 600
    admin_id = _oid(rng, admin_ts)
    users: list[Doc] = [
        {
            "_id": admin_id,
            "name": "Sandbox Admin",
            "email": "admin@demo.mile.app",
            "phoneNumber": "+6281100000001",
            "status": "active",
            "language": "en",
            "provider": "web",
            "hubId": [h["_id"] for h in hubs],
            "teamId": [],
            "roleId": roles["Admin"]["_id"],
            "role": roles["Admin"],
            "organizationId": org_id,
            "lastLogin": iso(SEED_NOW - 3600),
            "createdTime": iso(admin_ts),
            "updatedTime": iso(admin_ts + 86400),
        }
    ]
    seen = {"admin@demo.mile.app"}
    while len(users) < 50:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first.lower()}.{last.lower()}@{DEMO_DOMAIN}"
        if email in seen:
            continue
        seen.add(email)
        k = len(users)
        role = "Dispatcher" if k < 6 else "Field Worker"
        home = rng.choices(range(len(hubs)), weights=_HUB_WEIGHTS)[0]
        hub_ids = [hubs[home]["_id"]]
        if rng.random() < 0.15:
            other = rng.randrange(len(hubs))
            if other != home:
                hub_ids.append(hubs[other]["_id"])
        ts = ORG_CREATED + 86400 * (2 + k)
        u: Doc = {
            "_id": _oid(rng, ts),
            "name": f"{first} {last}",
            "email": email,
            "phoneNumber": f"+628{rng.randrange(10**9, 10**10)}" if rng.random() < 0.85 else None,
            "status": "active" if rng.random() < 0.92 else "inactive",
            "language": "id" if rng.random() < 0.7 else "en",
            "provider": "web",
            "hubId": hub_ids,
            "teamId": [],
            "roleId": roles[role]["_id"],
            "role": roles[role],
            "organizationId": org_id,
            "createdTime": iso(ts),
            "updatedTime": iso(ts + 86400 * rng.randrange(1, 60)),
        }
        if rng.random() < 0.8:
            u["lastLogin"] = iso(SEED_NOW - rng.randrange(86400 * 20))
        users.append(u)
    vehicles: list[Doc] = []
    workers = [u for u in users if u["role"]["name"] == "Field Worker"]
    plates: set[str] = set()
    while len(vehicles) < 20:
        h = rng.choices(range(len(hubs)), weights=_HUB_WEIGHTS)[0]
        suffix = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice((2, 3))))
        plate = f"{_HUBS[h][4]} {rng.randrange(1000, 9999)} {suffix}"
        if plate in plates:
            continue
        plates.add(plate)
        ts = ORG_CREATED + 86400 * (10 + len(vehicles))
        v: Doc = {
            "_id": _oid(rng, ts),
            "name": plate,
            "hubId": hubs[h]["_id"],
            "type": rng.choice(("Motor", "Van", "Pickup", "Truck")),
            "speed": rng.choice((30, 40, 50)),
            "capacity": {
                "weight": rng.choice((150, 800, 1500, 4000)),
                "volume": rng.choice((1, 6, 12)),
            },
            "workingTime": {"startTime": "08:00", "endTime": "17:00", "multiday": 0},
            "tags": [],
            "organizationId": org_id,
            "createdTime": iso(ts),
            "updatedTime": iso(ts + 86400),
        }
        local = [w for w in workers if hubs[h]["_id"] in w["hubId"]]
        if local and rng.random() < 0.8:
            v["assignee"] = rng.choice(local)["email"]
        vehicles.append(v)
    me = {
        "_id": admin_id,
        "name": "Sandbox Admin",
        "email": "admin@demo.mile.app",
        "phone_number": "+6281100000001",
        "organization_id": org_id,
        "role_id": roles["Admin"]["_id"],
        "hub_id": [h["_id"] for h in hubs],
        "team_id": [],
        "status": "active",
        "language": "en",
        "is_deleted": False,
        "first_login": False,
        "created_at": iso_z(admin_ts, 647000),
        "updated_at": iso_z(admin_ts + 86400, 0),
    }
    return Org(organization, me, hubs, flows, users, vehicles)


def build_org(seed: int = 7, tasks: int = 10_000) -> Org:
    """The demo organisation for ``seed`` with ``tasks`` tasks (same seed, same bytes).

    >>> t = build_org(seed=1, tasks=200).tasks
    >>> sorted({x["status"] for x in t}), all("flow" in x and "hub" in x for x in t)
    (['DONE', 'ONGOING', 'UNASSIGNED'], True)
    """
    rng = random.Random(seed)
    org = _build_static(rng)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers, no cycles: the collector only costs time
    try:
        org.tasks = _build_tasks(rng, org, tasks)
    finally:
        if was_enabled:
            gc.enable()
    from milekit.sandbox.seed_extra import add_extras

    add_extras(org, seed)
    return org


def _build_tasks(rng: random.Random, org: Org, n: int) -> list[Doc]:
    org_id = org.organization["id"]
    hubs = org.hubs
    hub_embeds = [
        {"_id": h["_id"], "name": h["name"], "lat": h["lat"], "lng": h["lng"]} for h in hubs
    ]
    cities = [c[0] for c in _HUBS]
    flows = org.flows
    flow_names = [f["name"] for f in flows]
    flow_weights = [_FLOWS[name][0] for name in flow_names]
    workers_by_hub = [
        [u for u in org.users if h["_id"] in u["hubId"] and u["role"]["name"] == "Field Worker"]
        for h in hubs
    ]
    dispatchers = [u for u in org.users if u["role"]["name"] in ("Admin", "Dispatcher")]
    creators = [u["email"] for u in dispatchers] + ["System", "Roger", "Jhon Web"]
    creator_weights = [10] * len(dispatchers) + [4, 1, 1]
    vehicles_by_hub = [[v for v in org.vehicles if v["hubId"] == h["_id"]] for h in hubs]
    routing_ids = [_oid(rng, TASKS_FROM + 86400 * k * 3) for k in range(30)]
    span_days = (TASKS_TO - TASKS_FROM) // 86400
    rnd = rng.random
    created = sorted(
        TASKS_FROM + 86400 * int(rnd() * span_days) + int(rnd() * 43200) for _ in range(n)
    )
    hub_pick = rng.choices(range(len(hubs)), weights=_HUB_WEIGHTS, k=n)
    flow_pick = rng.choices(range(len(flows)), weights=flow_weights, k=n)
    sources = rng.choices(("WEB", "API", "Automation", "Mobile"), weights=(40, 40, 10, 10), k=n)
    creator_pick = rng.choices(creators, weights=creator_weights, k=n)
    rand = rng.random

    def randrange(lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + int(rand() * (hi - lo))

    def choice(seq: Sequence[T]) -> T:
        return seq[int(rand() * len(seq))]

    def mixed(ts: int) -> str:
        return _mixed(ts, rand(), rand)

    out: list[Doc] = []
    seen_ids: set[str] = set()
    for i in range(n):
        ct = created[i]
        h = hub_pick[i]
        hub = hubs[h]
        lat, lng = hub["lat"], hub["lng"]
        fl = flows[flow_pick[i]]
        fname = fl["name"]
        tid = _oid(rng, ct)
        while tid in seen_ids:
            tid = _oid(rng, ct)
        seen_ids.add(tid)
        age = (SEED_NOW - ct) / 86400
        r = rand()
        if age > 7:
            status = "DONE" if r < 0.88 else ("ONGOING" if r < 0.93 else "UNASSIGNED")
        elif age > 2:
            status = "DONE" if r < 0.6 else ("ONGOING" if r < 0.85 else "UNASSIGNED")
        else:
            status = "DONE" if r < 0.15 else ("ONGOING" if r < 0.6 else "UNASSIGNED")
        workers = workers_by_hub[h] or workers_by_hub[0]
        st = ct + 60 * randrange(0, 360)
        et = st + choice((4, 8, 24, 48)) * 3600
        person = f"{choice(_FIRST)} {choice(_LAST)}"
        address = f"{choice(_STREETS)} No. {randrange(1, 250)}, {cities[h]}"
        t: Doc = {
            "_id": tid,
            "flow": fname,
            "flowId": fl["_id"],
            "hubId": hub["_id"],
            "organizationId": org_id,
            "hub": hub_embeds[h],
            "title": f"{fname} - {person}",
            "content": address,
            "status": status,
            "startTime": mixed(st),
            "endTime": mixed(et),
            "createdFrom": sources[i],
            "createdBy": creator_pick[i],
            "createdTime": mixed(ct),
            "orderIndex": ct * 100_000 + randrange(1000) * 100 + randrange(100),
            "expectedCoordinate": _coord(rand, lat, lng),
        }
        lr = rand()
        if lr < 0.2:
            t["label"] = None
        elif lr < 0.5:
            t["label"] = choice(_LABELS)
        if sources[i] == "API" and rand() < 0.5:
            t["refId"] = _oid(rng, ct)
        histories = [
            {
                "_id": _oid(rng, ct),
                "action": "create",
                "notes": "Task created",
                "changeData": {},
                "createdAt": iso_z(ct, randrange(1_000_000)),
            }
        ]
        updated = ct
        if status != "UNASSIGNED":
            who = choice(workers)
            assignees = [who["email"]]
            if rand() < 0.05:
                extra = choice(workers)["email"]
                if extra != who["email"]:
                    assignees.append(extra)
            at = ct + randrange(60, 3 * 3600)
            t["assignee"] = assignees
            t["assignedBy"] = choice(("System", choice(dispatchers)["email"]))
            t["assignedTime"] = mixed(at)
            histories.append(
                {
                    "_id": _oid(rng, at),
                    "action": "assign",
                    "notes": f"Assigned to {who['name']}",
                    "changeData": {"assignee": assignees},
                    "createdAt": iso_z(at, randrange(1_000_000)),
                }
            )
            updated = at
            vr = rand()
            vehicles = vehicles_by_hub[h]
            if vr < 0.3 and vehicles:
                v = choice(vehicles)
                t["assignedVehicleId"] = v["_id"]
                t["assignedVehicle"] = {
                    "_id": v["_id"],
                    "name": v["name"],
                    "assignee": v.get("assignee", who["email"]),
                    "speed": str(v["speed"]),
                    "workingTime": v["workingTime"],
                }
            elif vr < 0.8:
                t["assignedVehicle"] = None
            if rand() < 0.12:
                t["routingResultId"] = choice(routing_ids)
                t["routePlannedOrder"] = randrange(1, 40)
            if status == "DONE":
                # mostly inside the window, ~12% after endTime (late)
                dt = st + int((et - st) * (0.15 + rand() * 0.98))
                dt = max(dt, at + 300)
                t["doneTime"] = mixed(dt)
                t["doneBy"] = choice(assignees)
                t["doneFrom"] = "MOBILE" if rand() < 0.9 else choice(("WEB", "System"))
                t["doneCoordinate"] = _coord(rand, lat, lng)
                t["doneOrder"] = randrange(1, 30)
                updated = dt
        elif rand() < 0.3:
            t["assignedVehicle"] = None
        if rand() < 0.15:
            pt = updated + randrange(60, 7200)
            t["updatedBy"] = choice(dispatchers)["email"]
            histories.append(
                {
                    "_id": _oid(rng, pt),
                    "action": "patch",
                    "notes": "Task updated",
                    "changeData": {},
                    "createdAt": iso_z(pt, randrange(1_000_000)),
                }
            )
            updated = pt
        t["updatedTime"] = mixed(updated)
        t["histories"] = histories
        if rand() < 0.7:
            minutes = (st // 60) % 1440 + 420 + randrange(0, 240)  # local (WIB) time of day
            t["eta"] = _time_of_day(rand, minutes)
            t["etd"] = _time_of_day(rand, minutes + randrange(5, 45))
        t["waitingTime"] = randrange(0, 30)
        t["duration"] = choice((5, 10, 15, 20, 30))
        t["distance"] = randrange(300, 25_000)
        t["travelDuration"] = round(t["distance"] / 1000 * (1.5 + rand() * 2.5), 2)
        geo = rand() < 0.25
        t["useGeoLock"] = geo
        if geo:
            t["geoLock"] = [
                {"geoLocation": t["expectedCoordinate"], "radius": choice((50, 100, 200))}
            ]
        done = status == "DONE"
        # custom flow fields, at the top level (Quirk 12)
        if fname == "Delivery":
            t["receiverName"] = person
            t["receiverPhone"] = (
                f"+62 8{randrange(10, 99)}-{randrange(1000, 9999)}-{randrange(1000, 9999)}"
            )
            t["packageWeight"] = round(0.2 + rand() * 24.8, 2)
            t["codAmount"] = 0 if rand() < 0.4 else 500 * randrange(20, 2000)
            items = []
            for _ in range(randrange(1, 5)):
                name, price = choice(_ITEMS)
                items.append({"name": name, "qty": randrange(1, 6), "unitPrice": price})
            t["items"] = items
            if done:
                t["deliveryPhoto"] = f"https://storage.{DEMO_DOMAIN}/photos/{tid}/delivery.jpg"
        elif fname == "Pickup":
            t["senderName"] = person
            t["parcelCount"] = randrange(1, 25)
            if rand() < 0.6:
                t["pickupNotes"] = choice(_PICKUP_NOTES)
        elif fname == "Visit":
            t["customerName"] = person
            t["visitPurpose"] = choice(_PURPOSES)
            t["visitLocation"] = t["expectedCoordinate"]
            if done:
                t["visitResult"] = choice(_RESULTS)
                if t["visitPurpose"] == "Meter Reading" or rand() < 0.2:
                    t["meterReading"] = round(1000 + rand() * 90_000, 1)
        else:
            t["ownerName"] = person
            t["rooms"] = randrange(1, 9)
            t["inspectionDate"] = _day(st)
            if done:
                t["inspectionPassed"] = rand() < 0.8
                if rand() < 0.85:
                    t["ownerSignature"] = f"https://storage.{DEMO_DOMAIN}/signatures/{tid}.png"
        out.append(t)
    return out
