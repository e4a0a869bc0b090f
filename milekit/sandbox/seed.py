"""A deterministic demo organisation: hubs, flows, users, vehicles and tasks.

>>> org = build_org(seed=7, tasks=50)
>>> len(org.hubs), len(org.flows), len(org.tasks), org == build_org(seed=7, tasks=50)
(8, 5, 50, True)

Everything comes from ``random.Random(seed)`` and fixed anchor dates (tasks are created
between 2026-08-01 and 2026-10-29 UTC; "now" for their statuses is 2026-10-30), never
from the wall clock, so the same seed gives the same bytes. The documents reproduce the
API's quirks (docs/api-notes.md, notes 1-20): mixed datetime spellings of the
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

_HUBS: tuple[tuple[str, float, float, str, str, str], ...] = (
    # city, lat, lng, address, plate prefix, location code (in hub and worker e-mails)
    (
        "Jakarta",
        -6.208763,
        106.845599,
        "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan",
        "B",
        "JKT",
    ),
    ("Surabaya", -7.257472, 112.752090, "Jl. Basuki Rahmat No. 8, Surabaya", "L", "SBY"),
    ("Bandung", -6.917464, 107.619123, "Jl. Asia Afrika No. 65, Bandung", "D", "BDG"),
    ("Medan", 3.595196, 98.672226, "Jl. Gatot Subroto No. 30, Medan", "BK", "MDN"),
    ("Makassar", -5.147665, 119.432732, "Jl. Jend. Sudirman No. 15, Makassar", "DD", "MKS"),
    ("Denpasar", -8.670458, 115.212629, "Jl. Teuku Umar No. 88, Denpasar", "DK", "DPS"),
    ("Semarang", -6.966667, 110.416664, "Jl. Pemuda No. 120, Semarang", "H", "SMG"),
    ("Yogyakarta", -7.795580, 110.369492, "Jl. Malioboro No. 52, Yogyakarta", "AB", "YOG"),
)
#: the temperature classes operators name their drivers and vehicles by
TEMPERATURE_CLASSES = ("DRY", "FRZ")
#: vehicle bodies (tags read "<class>-<body>", e.g. "DRY-CDD")
VEHICLE_BODIES = ("CDE", "CDD", "Blind Van", "Fuso")
HUB_WEIGHTS = (30, 16, 13, 10, 8, 8, 8, 7)

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
        40,
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
    # how real operators take orders: an order flow with the city and both order numbers
    "Create Order Blitz": (
        20,
        (
            ("orderNumber", "input", "string", "Order Number", True, ()),
            ("merchantOrderId", "input", "string", "Merchant Order ID", True, ()),
            ("kota", "input", "string", "Kota", True, ()),
            ("namaPenerima", "input", "string", "Nama Penerima", True, ()),
            ("beratKg", "input", "number", "Berat (kg)", False, ()),
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


def _mixed(ts: int, r: float, rand: Callable[[], float]) -> str:
    """One of four spellings of the instant ``ts``, chosen by ``r`` in [0, 1).

    The microsecond spelling adds ``rand()`` microseconds: still the right instant.
    """
    if r < 0.82:
        return f"{day_of(ts)}T{hms_of(ts)}+00:00"
    if r < 0.90:
        return f"{day_of(ts)} {hms_of(ts)}"  # naive, UTC
    if r < 0.95:
        loc = ts + 7 * 3600
        return f"{day_of(loc)}T{hms_of(loc)}.000+07:00"
    return f"{day_of(ts)}T{hms_of(ts)}.{int(rand() * 1_000_000):06d}Z"


def object_id(rng: random.Random, ts: int) -> str:
    """A 24-hex ObjectId: 4 bytes of time, 8 bytes from the RNG."""
    return f"{ts & 0xFFFFFFFF:08x}{rng.getrandbits(64):016x}"


def coord_near(rand: Callable[[], float], lat: float, lng: float, spread: float = 0.08) -> str:
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
    org_id = object_id(rng, ORG_CREATED)
    organization = {
        "id": org_id,
        "name": "PT Demo Logistik Nusantara",
        "email": "ops@demo.mile.app",
    }
    hubs = _hubs(rng, org_id)
    flows = _flows(rng, org_id)
    roles = {
        name: {"_id": object_id(rng, ORG_CREATED), "name": name}
        for name in ("Admin", "Dispatcher", "Field Worker")
    }
    admin_ts = ORG_CREATED + 600
    admin_id = object_id(rng, admin_ts)
    users = _users(rng, org_id, hubs, roles, admin_id, admin_ts)
    vehicles = _vehicles(rng, org_id, hubs, users)
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


def _hubs(rng: random.Random, org_id: str) -> list[Doc]:
    country = {
        "_id": object_id(rng, ORG_CREATED),
        "name": "Indonesia",
        "code": "ID",
        "phoneCode": "+62",
    }
    hubs: list[Doc] = []
    for i, (city, lat, lng, address, _plate, _code) in enumerate(_HUBS):
        ts = ORG_CREATED + 3600 * (i + 1)
        hubs.append(
            {
                "_id": object_id(rng, ts),
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
    return hubs


def _flows(rng: random.Random, org_id: str) -> list[Doc]:
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
                "_id": object_id(rng, ts),
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
    return flows


def _users(
    rng: random.Random,
    org_id: str,
    hubs: list[Doc],
    roles: dict[str, Doc],
    admin_id: str,
    admin_ts: int,
) -> list[Doc]:
    """The admin, six dispatchers and the field workers. Field workers are named by their
    temperature class ("FRZ - Siti Lubis") and carry their hub's location code in their
    e-mail (``siti.lubis.jkt@``), as real operators name their drivers."""
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
            "firstLogin": False,
            "lastLogin": iso(SEED_NOW - 3600),
            "createdTime": iso(admin_ts),
            "updatedTime": iso(admin_ts + 86400),
        }
    ]
    seen = {"admin@demo.mile.app"}
    while len(users) < 50:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        k = len(users)
        role = "Dispatcher" if k < 6 else "Field Worker"
        home = rng.choices(range(len(hubs)), weights=HUB_WEIGHTS)[0]
        code = _HUBS[home][5].lower()
        worker = role == "Field Worker"
        email = f"{first.lower()}.{last.lower()}{'.' + code if worker else ''}@{DEMO_DOMAIN}"
        if email in seen:
            continue
        seen.add(email)
        name = f"{first} {last}"
        if worker:
            name = f"{TEMPERATURE_CLASSES[rng.random() < 0.3]} - {name}"
        users.append(_user(rng, org_id, hubs, roles[role], home, name, email, k))
    return users


def _user(
    rng: random.Random,
    org_id: str,
    hubs: list[Doc],
    role: Doc,
    home: int,
    name: str,
    email: str,
    k: int,
) -> Doc:
    hub_ids = [hubs[home]["_id"]]
    if rng.random() < 0.15:
        other = rng.randrange(len(hubs))
        if other != home:
            hub_ids.append(hubs[other]["_id"])
    ts = ORG_CREATED + 86400 * (2 + k)
    u: Doc = {
        "_id": object_id(rng, ts),
        "name": name,
        "email": email,
        "phoneNumber": f"+628{rng.randrange(10**9, 10**10)}" if rng.random() < 0.85 else None,
        "status": "active" if rng.random() < 0.92 else "inactive",
        "language": "id" if rng.random() < 0.7 else "en",
        "provider": "web",
        "hubId": hub_ids,
        "teamId": [],
        "roleId": role["_id"],
        "role": role,
        "organizationId": org_id,
        "firstLogin": rng.random() < 0.1,
        "createdTime": iso(ts),
        "updatedTime": iso(ts + 86400 * rng.randrange(1, 60)),
    }
    if rng.random() < 0.8:
        u["lastLogin"] = iso(SEED_NOW - rng.randrange(86400 * 20))
    return u


def _vehicles(rng: random.Random, org_id: str, hubs: list[Doc], users: list[Doc]) -> list[Doc]:
    """Twenty vehicles named by temperature class and plate ("FRZ B 9412 TXK"), tagged
    "<class>-<body>" ("DRY-CDD") as real fleets are."""
    vehicles: list[Doc] = []
    workers = [u for u in users if u["role"]["name"] == "Field Worker"]
    plates: set[str] = set()
    while len(vehicles) < 20:
        h = rng.choices(range(len(hubs)), weights=HUB_WEIGHTS)[0]
        suffix = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice((2, 3))))
        plate = f"{_HUBS[h][4]} {rng.randrange(1000, 9999)} {suffix}"
        if plate in plates:
            continue
        plates.add(plate)
        cls = TEMPERATURE_CLASSES[rng.random() < 0.35]
        body = rng.choice(VEHICLE_BODIES)
        ts = ORG_CREATED + 86400 * (10 + len(vehicles))
        v: Doc = {
            "_id": object_id(rng, ts),
            "name": f"{cls} {plate}",
            "hubId": hubs[h]["_id"],
            "type": body,
            "speed": rng.choice((30, 40, 50)),
            "capacity": {
                "weight": {"CDE": 2000, "CDD": 4000, "Blind Van": 800, "Fuso": 8000}[body],
                "volume": {"CDE": 8, "CDD": 16, "Blind Van": 4, "Fuso": 30}[body],
            },
            "workingTime": {"startTime": "08:00", "endTime": "17:00", "multiday": 0},
            "tags": [f"{cls}-{body}"],
            "organizationId": org_id,
            "createdTime": iso(ts),
            "updatedTime": iso(ts + 86400),
        }
        local = [w for w in workers if hubs[h]["_id"] in w["hubId"]]
        same = [w for w in local if w["name"].startswith(cls)]
        if (same or local) and rng.random() < 0.8:
            v["assignee"] = rng.choice(same or local)["email"]
        vehicles.append(v)
    return vehicles


def build_org(seed: int = 7, tasks: int = 10_000, *, mixed_datetimes: bool = False) -> Org:
    """The demo organisation for ``seed`` with ``tasks`` tasks (same seed, same bytes).

    >>> t = build_org(seed=1, tasks=200).tasks
    >>> sorted({x["status"] for x in t}), all("flow" in x and "hub" in x for x in t)
    (['DONE', 'ONGOING', 'UNASSIGNED'], True)

    Tasks spell their datetimes as real tasks do (ISO 8601, ``+00:00``; note 25);
    ``mixed_datetimes=True`` mixes in every other spelling the API uses (note 6), each
    denoting the same instant, and times of day as ``8:34`` or ``08:34``: for robustness
    tests.
    """
    rng = random.Random(seed)
    org = _build_static(rng)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers, no cycles: the collector only costs time
    try:
        org.tasks = _TaskMaker(rng, org, mixed_datetimes).build(tasks)
    finally:
        if was_enabled:
            gc.enable()
    from milekit.sandbox.seed_extra import add_extras

    add_extras(org, seed)
    return org


class _TaskMaker:
    """The seeded tasks, one :meth:`task` at a time from one random stream."""

    def __init__(self, rng: random.Random, org: Org, mixed: bool) -> None:
        self.rng, self.org, self.mixed = rng, org, mixed
        self.rand = rng.random
        #: spellings draw from a stream of their own: the same tasks either way
        self.spell = random.Random(rng.getrandbits(64)).random
        hubs = org.hubs
        self.hub_embeds = [
            {"_id": h["_id"], "name": h["name"], "lat": h["lat"], "lng": h["lng"]} for h in hubs
        ]
        self.org_embed = {
            "_id": org.organization["id"],
            "name": org.organization["name"],
            "email": org.organization["email"],
        }
        self.workers_by_hub = [
            [u for u in org.users if h["_id"] in u["hubId"] and u["role"]["name"] == "Field Worker"]
            for h in hubs
        ]
        self.dispatchers = [u for u in org.users if u["role"]["name"] in ("Admin", "Dispatcher")]
        self.vehicles_by_hub = [[v for v in org.vehicles if v["hubId"] == h["_id"]] for h in hubs]
        self.routing_ids = [object_id(rng, TASKS_FROM + 86400 * k * 3) for k in range(30)]
        self.seen_ids: set[str] = set()

    def randrange(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + int(self.rand() * (hi - lo))

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.rand() * len(seq))]

    def when(self, ts: int) -> str:
        """A task datetime: ISO with +00:00 (note 25), or any spelling when mixed."""
        return _mixed(ts, self.spell(), self.spell) if self.mixed else iso(ts)

    def build(self, n: int) -> list[Doc]:
        rng, org = self.rng, self.org
        span_days = (TASKS_TO - TASKS_FROM) // 86400
        rnd = rng.random
        created = sorted(
            TASKS_FROM + 86400 * int(rnd() * span_days) + int(rnd() * 43200) for _ in range(n)
        )
        hub_pick = rng.choices(range(len(org.hubs)), weights=HUB_WEIGHTS, k=n)
        flow_weights = [_FLOWS[f["name"]][0] for f in org.flows]
        flow_pick = rng.choices(range(len(org.flows)), weights=flow_weights, k=n)
        sources = rng.choices(("WEB", "API", "Automation", "Mobile"), weights=(40, 40, 10, 10), k=n)
        creators = [u["email"] for u in self.dispatchers] + ["System", "Roger", "Jhon Web"]
        weights = [10] * len(self.dispatchers) + [4, 1, 1]
        creator_pick = rng.choices(creators, weights=weights, k=n)
        return [
            self.task(created[i], hub_pick[i], org.flows[flow_pick[i]], sources[i], creator_pick[i])
            for i in range(n)
        ]

    def _status(self, ct: int) -> str:
        age, r = (SEED_NOW - ct) / 86400, self.rand()
        if age > 7:
            return "DONE" if r < 0.88 else ("ONGOING" if r < 0.93 else "UNASSIGNED")
        if age > 2:
            return "DONE" if r < 0.6 else ("ONGOING" if r < 0.85 else "UNASSIGNED")
        return "DONE" if r < 0.15 else ("ONGOING" if r < 0.6 else "UNASSIGNED")

    def task(self, ct: int, h: int, fl: Doc, source: str, creator: str) -> Doc:
        hub = self.org.hubs[h]
        tid = object_id(self.rng, ct)
        while tid in self.seen_ids:
            tid = object_id(self.rng, ct)
        self.seen_ids.add(tid)
        status = self._status(ct)
        st = ct + 60 * self.randrange(0, 360)
        et = st + self.choice((4, 8, 24, 48)) * 3600
        person = f"{self.choice(_FIRST)} {self.choice(_LAST)}"
        address = f"{self.choice(_STREETS)} No. {self.randrange(1, 250)}, {_HUBS[h][0]}"
        t: Doc = {
            "_id": tid,
            "flow": fl["name"],
            "flowId": fl["_id"],
            "hubId": hub["_id"],
            "organizationId": self.org.organization["id"],
            "organization": self.org_embed,
            "hub": self.hub_embeds[h],
            "title": f"{fl['name']} - {person}",
            "content": address,
            "label": self._labels(),
            "status": status,
            "startTime": self.when(st),
            "endTime": self.when(et),
            "createdFrom": source,
            "createdBy": creator,
            "createdTime": self.when(ct),
            "orderIndex": ct * 100_000 + self.randrange(1000) * 100 + self.randrange(100),
            "expectedCoordinate": coord_near(self.rand, hub["lat"], hub["lng"]),
            "isDeleted": False,
            "assignedTo": None,
            "assignedVehicle": None,
        }
        if source == "API" and self.rand() < 0.5:
            t["refId"] = object_id(self.rng, ct)
        t.update(NEW_TASK_KEYS)  # keys every real task carries, null until set (note 23)
        histories = [self._history(ct, "create", "Task created", {})]
        updated = ct
        if status != "UNASSIGNED":
            updated = self._assign(t, h, ct, st, et, status, histories)
        if self.rand() < 0.15:
            pt = updated + self.randrange(60, 7200)
            t["updatedBy"] = self.choice(self.dispatchers)["email"]
            histories.append(self._history(pt, "patch", "Task updated", {}))
            updated = pt
        t["updatedTime"] = self.when(updated)
        t["histories"] = histories
        self._route_fields(t, st)
        self._custom(t, tid, fl["name"], person, h, st, status == "DONE")
        return t

    def _labels(self) -> list[str]:
        lr = self.rand()
        if lr < 0.5:
            return []
        first = self.choice(_LABELS)
        if lr < 0.9:
            return [first]
        second = self.choice(_LABELS)
        return [first] if second == first else [first, second]

    def _history(self, ts: int, action: str, notes: str, change: Doc) -> Doc:
        return {
            "_id": object_id(self.rng, ts),
            "action": action,
            "notes": notes,
            "changeData": change,
            "createdAt": iso_z(ts, self.randrange(1_000_000)),
        }

    def _assign(
        self, t: Doc, h: int, ct: int, st: int, et: int, status: str, histories: list[Doc]
    ) -> int:
        """Assignment (and, when done, completion) keys; the task's last update time."""
        workers = self.workers_by_hub[h] or self.workers_by_hub[0]
        who = self.choice(workers)
        assignees = [who["email"]]
        if self.rand() < 0.05:
            extra = self.choice(workers)["email"]
            if extra != who["email"]:
                assignees.append(extra)
        at = ct + self.randrange(60, 3 * 3600)
        t["assignee"] = assignees
        t["assignedTo"] = assigned_to(who)
        t["assignedBy"] = self.choice(("System", self.choice(self.dispatchers)["email"]))
        t["assignedTime"] = self.when(at)
        t["openTaskTime"] = self.when(max(st, at) + self.randrange(60, 1800))
        t["appVersion"] = dict(self.choice(_APP_VERSIONS))
        t["deviceInformation"] = self.choice(_DEVICES)
        note = f"Assigned to {who['name']}"
        histories.append(self._history(at, "assign", note, {"assignee": assignees}))
        self._vehicle(t, h, who)
        if status == "DONE":
            return self._done(t, st, et, at, assignees)
        return at

    def _vehicle(self, t: Doc, h: int, who: Doc) -> None:
        vr = self.rand()
        vehicles = self.vehicles_by_hub[h]
        if vr < 0.3 and vehicles:
            v = self.choice(vehicles)
            t["assignedVehicleId"] = v["_id"]
            t["assignedVehicle"] = {
                "_id": v["_id"],
                "name": v["name"],
                "assignee": v.get("assignee", who["email"]),
                "speed": None,  # null in real tasks (note 30)
                "workingTime": v["workingTime"],
            }
        if self.rand() < 0.12:
            t["routingResultId"] = self.choice(self.routing_ids)
            t["routePlannedOrder"] = self.randrange(1, 40)

    def _done(self, t: Doc, st: int, et: int, at: int, assignees: list[str]) -> int:
        # mostly inside the window, ~12% after endTime (late)
        dt = st + int((et - st) * (0.15 + self.rand() * 0.98))
        dt = max(dt, at + 300)
        t["doneTime"] = self.when(dt)
        t["doneBy"] = self.choice(assignees)
        t["doneFrom"] = "MOBILE" if self.rand() < 0.9 else self.choice(("WEB", "System"))
        lat, lng = (float(x) for x in t["expectedCoordinate"].split(","))
        t["doneCoordinate"] = coord_near(self.rand, lat, lng, 0.002)
        t["createdCoordinate"] = t["doneCoordinate"] if t["createdFrom"] == "Mobile" else None
        t["doneOrder"] = self.randrange(1, 30)
        t["isLastDoneOrder"] = self.rand() < 0.1
        t["travelDistance"] = round(300 + self.rand() * 25_000, 1)
        t["idleDuration"] = self.randrange(0, 40) * 30
        t["expectedDoneTime"] = self.when(et)
        if self.rand() < 0.25:
            t["geoLockTrigger"] = "onTaskDone"
            t["inLocation"] = self.when(dt - self.randrange(120, 1200))
            t["outLocation"] = self.when(dt + self.randrange(30, 600))
        if t["createdFrom"] == "Mobile":
            t["idLocal"] = f"m-{t['_id']}"
        return dt

    def _route_fields(self, t: Doc, st: int) -> None:
        if self.rand() < 0.7:
            minutes = (st // 60) % 1440 + 420 + self.randrange(0, 240)  # local (WIB) time
            t["eta"] = self._time_of_day(minutes)
            t["etd"] = self._time_of_day(minutes + self.randrange(5, 45))
        t["waitingTime"] = self.randrange(0, 30)
        t["duration"] = self.choice((5, 10, 15, 20, 30))
        t["distance"] = self.randrange(300, 25_000)
        t["travelDuration"] = round(t["distance"] / 1000 * (1.5 + self.rand() * 2.5), 2)
        if self.rand() < 0.1:
            t["visitGroup"] = f"{t['hub']['name'].split()[0].upper()}-{self.choice(_SHIFTS)}"
            t["visitGroupPriority"] = self.choice((0, 10, 20, 50))
        geo = self.rand() < 0.25
        t["useGeoLock"] = geo
        if geo:
            radius = self.choice((50, 100, 200))
            t["geoLock"] = [{"geoLocation": t["expectedCoordinate"], "radius": radius}]
            if t["geoLockTrigger"] is None:
                t["geoLockTrigger"] = "onTaskStart"

    def _time_of_day(self, minutes: int) -> str:
        if self.mixed:
            return _time_of_day(self.spell, minutes)
        h, m = divmod(minutes % 1440, 60)
        return f"{h:02d}:{m:02d}:00"

    def _custom(
        self, t: Doc, tid: str, fname: str, person: str, h: int, st: int, done: bool
    ) -> None:
        """The flow's components, at the task's top level (note 12)."""
        if fname == "Delivery":
            self._delivery(t, tid, person, done)
        elif fname == "Pickup":
            t["senderName"] = person
            t["parcelCount"] = self.randrange(1, 25)
            if self.rand() < 0.6:
                t["pickupNotes"] = self.choice(_PICKUP_NOTES)
        elif fname == "Visit":
            t["customerName"] = person
            t["visitPurpose"] = self.choice(_PURPOSES)
            t["visitLocation"] = t["expectedCoordinate"]
            if done:
                t["visitResult"] = self.choice(_RESULTS)
                if t["visitPurpose"] == "Meter Reading" or self.rand() < 0.2:
                    t["meterReading"] = round(1000 + self.rand() * 90_000, 1)
        elif fname == "House Inspection":
            t["ownerName"] = person
            t["rooms"] = self.randrange(1, 9)
            t["inspectionDate"] = day_of(st)
            if done:
                t["inspectionPassed"] = self.rand() < 0.8
                if self.rand() < 0.85:
                    t["ownerSignature"] = f"https://storage.{DEMO_DOMAIN}/signatures/{tid}.png"
        else:
            self._order(t, person, h)

    def _delivery(self, t: Doc, tid: str, person: str, done: bool) -> None:
        t["receiverName"] = person
        t["receiverPhone"] = (
            f"+62 8{self.randrange(10, 99)}-{self.randrange(1000, 9999)}-"
            f"{self.randrange(1000, 9999)}"
        )
        t["packageWeight"] = round(0.2 + self.rand() * 24.8, 2)
        t["codAmount"] = 0 if self.rand() < 0.4 else 500 * self.randrange(20, 2000)
        items = []
        for _ in range(self.randrange(1, 5)):
            name, price = self.choice(_ITEMS)
            items.append({"name": name, "qty": self.randrange(1, 6), "unitPrice": price})
        t["items"] = items
        if done:
            t["deliveryPhoto"] = f"https://storage.{DEMO_DOMAIN}/photos/{tid}/delivery.jpg"

    def _order(self, t: Doc, person: str, h: int) -> None:
        """An order taken by the order flow: its numbers, the receiver's city and name."""
        n = self.randrange(10_000, 99_999)
        t["orderNumber"] = f"SO-{_HUBS[h][5]}-{n}"
        t["merchantOrderId"] = f"BLZ-{self.randrange(100_000, 999_999)}"
        t["kota"] = _HUBS[h][0] if self.rand() < 0.8 else self.choice(_HUBS)[0]
        t["namaPenerima"] = person
        if self.rand() < 0.7:
            t["beratKg"] = round(0.5 + self.rand() * 30, 1)


def activity_state(children: Sequence[Doc]) -> tuple[str, list[str]]:
    """An activity master's status and assignees, from its child tasks: DONE or
    UNASSIGNED when all children are, else ONGOING; every child's assignees, in order.

    >>> activity_state([{"status": "DONE", "assignee": ["a"]}, {"status": "ONGOING"}])
    ('ONGOING', ['a'])
    """
    statuses = {c.get("status") for c in children}
    status = "ONGOING"
    if statuses in ({"DONE"}, {"UNASSIGNED"}):
        status = next(iter(statuses)) or status
    assignee: list[str] = []
    for c in children:
        assignee += [a for a in c.get("assignee") or [] if a not in assignee]
    return status, assignee


def assigned_to(user: Doc) -> Doc:
    """A task's ``assignedTo``: the assignee's user, as real tasks embed it (note 24).

    >>> assigned_to({"_id": "u", "name": "N", "email": "e", "hubId": ["h"],
    ...              "role": {"name": "Field Worker"}})["role"]
    'Field Worker'
    """
    role = user.get("role")
    return {
        "_id": user.get("_id"),
        "name": user.get("name"),
        "email": user.get("email"),
        "hubId": list(user.get("hubId") or []),
        "role": role.get("name") if isinstance(role, dict) else role,
        "firstLogin": bool(user.get("firstLogin", False)),
    }


#: keys every real task carries, null until the work sets them (note 23)
NEW_TASK_KEYS: Doc = dict.fromkeys(
    (
        "openTaskTime",
        "expectedDoneTime",
        "createdCoordinate",
        "appVersion",
        "deviceInformation",
        "geoLockTrigger",
        "idLocal",
        "inLocation",
        "outLocation",
        "visitGroup",
    )
) | {"travelDistance": 0, "idleDuration": 0, "visitGroupPriority": 0}
#: real tasks name the app as an object (note 51)
_APP_VERSIONS = (
    {"name": "5.19.0", "version": 519},
    {"name": "5.20.4", "version": 520},
    {"name": "5.21.3", "version": 521},
)
_DEVICES = (
    {"os": "13", "brand": "samsung", "model": "SM-A145F"},
    {"os": "12", "brand": "xiaomi", "model": "Redmi 10C"},
    {"os": "14", "brand": "oppo", "model": "CPH2591"},
)
_SHIFTS = ("PAGI", "SIANG", "MALAM")
