"""The seeded organisation before its tasks: hubs, flows, users (admin, dispatchers,
field workers) and vehicles, all from the first random stream.

>>> import random
>>> org = build_static(random.Random(7))
>>> len(org.hubs), len(org.flows), len(org.users), len(org.vehicles)
(8, 5, 50, 20)

The documents reproduce the API's quirks (docs/api-notes.md): creator fields holding
e-mails, microsecond ``Z`` datetimes on hubs and flows, field workers named by their
temperature class and carrying their hub's location code in their e-mail.
"""

from __future__ import annotations

import random

from milekit.sandbox.seed.base import (
    DEMO_DOMAIN,
    ORG_CREATED,
    SEED_NOW,
    Doc,
    Org,
    iso,
    iso_z,
    object_id,
)

HUBS: tuple[tuple[str, float, float, str, str, str], ...] = (
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
#: vehicle bodies (``type``) and the upper-case code their tags carry after the class:
#: "<CLASS>-<CODE>", e.g. "DRY-CDD", "FRZ-VAN" (docs/api-notes.md note 55)
VEHICLE_BODIES = ("CDE", "CDD", "Blind Van", "Fuso")
BODY_CODES = {"CDE": "CDE", "CDD": "CDD", "Blind Van": "VAN", "Fuso": "FUSO"}
HUB_WEIGHTS = (30, 16, 13, 10, 8, 8, 8, 7)

# fmt: off
FIRST_NAMES = (
    "Budi", "Siti", "Agus", "Dewi", "Andi", "Rina", "Joko", "Sri", "Ahmad", "Putri", "Eko",
    "Wulan", "Hendra", "Ayu", "Rudi", "Fitri", "Bambang", "Indah", "Yusuf", "Lestari", "Dimas",
    "Nur", "Fajar", "Ratna", "Rizky", "Maya", "Teguh", "Sari", "Arief", "Intan", "Wahyu",
    "Kartika", "Hadi", "Dian", "Surya", "Mega", "Irfan", "Novi", "Bayu", "Anisa",
)
LAST_NAMES = (
    "Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Nugroho", "Kusuma", "Setiawan",
    "Siregar", "Nasution", "Sihombing", "Gunawan", "Halim", "Purnomo", "Wibowo", "Susanto",
    "Hakim", "Rahman", "Syahputra", "Tanjung", "Lubis", "Harahap", "Simanjuntak", "Putra",
    "Utami", "Permana", "Firmansyah",
)
# fmt: on
PURPOSES = ("Meter Reading", "Maintenance", "Sales Visit", "Survey", "Collection")
RESULTS = ("Completed", "Customer Absent", "Rescheduled", "Refused")

#: flow name -> (weight, components: (id, component, inputType, title, isRequired, options))
FLOWS: dict[str, tuple[int, tuple[tuple[str, str, str, str, bool, tuple[str, ...]], ...]]] = {
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
            ("visitPurpose", "select", "string", "Visit Purpose", True, PURPOSES),
            ("visitResult", "select", "string", "Visit Result", True, RESULTS),
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


def build_static(rng: random.Random) -> Org:
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
    for i, (city, lat, lng, address, _plate, _code) in enumerate(HUBS):
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
    for j, (name, (_w, comps)) in enumerate(FLOWS.items()):
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
    temperature class in quotes (``"FRZ" Siti Lubis``, note 55) and carry their hub's
    location code in their e-mail (``siti.lubis.jkt@``), as real operators name their
    drivers."""
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
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        k = len(users)
        role = "Dispatcher" if k < 6 else "Field Worker"
        home = rng.choices(range(len(hubs)), weights=HUB_WEIGHTS)[0]
        code = HUBS[home][5].lower()
        worker = role == "Field Worker"
        email = f"{first.lower()}.{last.lower()}{'.' + code if worker else ''}@{DEMO_DOMAIN}"
        if email in seen:
            continue
        seen.add(email)
        name = f"{first} {last}"
        if worker:
            name = f'"{TEMPERATURE_CLASSES[rng.random() < 0.3]}" {name}'
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
    "<CLASS>-<CODE>" ("DRY-CDD") as real fleets are; one per hub first, then by the hubs'
    weights. A vehicle is driven by an active field worker of its hub who drives no other,
    and takes that driver's class (the fleet is coherent by construction: note 52)."""
    vehicles: list[Doc] = []
    workers = [u for u in users if u["role"]["name"] == "Field Worker"]
    drivers: set[str] = set()
    plates: set[str] = set()
    while len(vehicles) < 20:
        h = len(vehicles) if len(vehicles) < len(hubs) else _weighted_hub(rng, hubs)
        suffix = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice((2, 3))))
        plate = f"{HUBS[h][4]} {rng.randrange(1000, 9999)} {suffix}"
        if plate in plates:
            continue
        plates.add(plate)
        free = [
            w
            for w in workers
            if hubs[h]["_id"] in w["hubId"]
            and w["status"] == "active"
            and w["email"] not in drivers
        ]
        driver = rng.choice(free) if free and rng.random() < 0.9 else None
        cls = driver_class(driver) if driver else TEMPERATURE_CLASSES[rng.random() < 0.35]
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
            "tags": [f"{cls}-{BODY_CODES[body]}"],
            "organizationId": org_id,
            "createdTime": iso(ts),
            "updatedTime": iso(ts + 86400),
        }
        if driver is not None:
            v["assignee"] = driver["email"]
            drivers.add(driver["email"])
        vehicles.append(v)
    return vehicles


def _weighted_hub(rng: random.Random, hubs: list[Doc]) -> int:
    return rng.choices(range(len(hubs)), weights=HUB_WEIGHTS)[0]


def driver_class(user: Doc) -> str:
    """The temperature class a field worker's name starts with, in quotes (note 55).

    >>> driver_class({"name": '"FRZ" Siti Lubis'})
    'FRZ'
    """
    return str(user["name"]).split('"')[1]
