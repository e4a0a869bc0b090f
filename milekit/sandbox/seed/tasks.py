"""The seeded tasks: one :class:`TaskMaker` draws them from the organisation's random
stream, after its hubs, flows, users and vehicles.

>>> from milekit.sandbox.seed import build_org
>>> t = build_org(seed=1, tasks=200).tasks
>>> sorted({x["status"] for x in t}), all("flow" in x and "hub" in x for x in t)
(['DONE', 'ONGOING', 'UNASSIGNED'], True)

The documents reproduce the API's quirks (docs/api-notes.md, notes 1-20): mixed datetime
spellings of the same field across tasks (all denoting correct UTC instants), keys missing
when never set next to explicit ``null``s, custom flow fields at the task's top level,
``"lat,lng"`` strings, times of day spelled ``"08:34:00"``/``"08:34"``/``"8:34"``,
epoch-derived ``orderIndex`` values and creator fields holding e-mails, display names or
``"System"``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

from milekit.sandbox.seed.base import (
    DEMO_DOMAIN,
    SEED_NOW,
    TASK_SPEC,
    TASKS_FROM,
    TASKS_TO,
    Doc,
    Org,
    coord_near,
    day_of,
    hms_of,
    in_workday,
    iso,
    iso_z,
    local_day,
    object_id,
    workday_end,
)
from milekit.sandbox.seed.org import (
    FIRST_NAMES,
    FLOWS,
    HUB_WEIGHTS,
    HUBS,
    LAST_NAMES,
    PURPOSES,
    RESULTS,
)
from milekit.sandbox.seed.plans import fleet_of, plan_of

T = TypeVar("T")

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
_LABELS = ("Priority", "COD", "Fragile", "Same Day", "Return")
#: delivery outcomes real operators label tasks with (docs/api-notes.md note 55): an open
#: delivery is PENDING, a done one cancelled (BATAL) or partly received (TERIMA SEBAGIAN)
OUTCOME_LABELS = ("PENDING", "BATAL", "TERIMA SEBAGIAN")
#: seeded routing results: one hub's day every third day (a result per day it plans)
ROUTING_DAYS = 30
_PICKUP_NOTES = ("Ambil di lobi", "Hubungi sebelum datang", "Barang di pos satpam", "")


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


def _time_of_day(rand: Callable[[], float], minutes: int, seconds: int = 0) -> str:
    h, m = divmod(minutes % 1440, 60)
    r = rand()
    if r < 0.8:
        return f"{h:02d}:{m:02d}:{seconds:02d}"
    if r < 0.9:
        return f"{h:02d}:{m:02d}"
    return f"{h}:{m:02d}"


class TaskMaker:
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
        #: a driver's vehicle (one each); the drivers a hub routes on (note 52)
        self.vehicle_of = {v["assignee"]: v for v in org.vehicles if v.get("assignee")}
        self.fleets = [fleet_of(org, h["_id"]) for h in hubs]
        self.drivers_by_hub = [
            [u for u in org.users if u["email"] in {v["assignee"] for v in fleet}]
            for fleet in self.fleets
        ]
        #: (hub, local day) -> the result routing the tasks the hub took that day
        self.slots: dict[tuple[int, int], str] = {}
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
        flow_weights = [FLOWS[f["name"]][0] for f in org.flows]
        flow_pick = rng.choices(range(len(org.flows)), weights=flow_weights, k=n)
        sources = rng.choices(("WEB", "API", "Automation", "Mobile"), weights=(40, 40, 10, 10), k=n)
        creators = [u["email"] for u in self.dispatchers] + ["System", "Roger", "Jhon Web"]
        weights = [10] * len(self.dispatchers) + [4, 1, 1]
        creator_pick = rng.choices(creators, weights=weights, k=n)
        self._routing_days([(hub_pick[i], local_day(created[i])) for i in range(n)])
        tasks = [
            self.task(created[i], hub_pick[i], org.flows[flow_pick[i]], sources[i], creator_pick[i])
            for i in range(n)
        ]
        self._route(tasks)
        return tasks

    def _routing_days(self, days: list[tuple[int, int]]) -> None:
        """The hubs' days that are routed (``days``: each task's hub and day, in time order;
        a busy day is likelier, the busiest hub's last days always): one per 40 tasks, 3 to
        :data:`ROUTING_DAYS`. Each result is made at 19:30 local that day, for the next
        (note 52)."""
        if not days:  # an organisation with no tasks (an org file's base) routes no day
            return
        k = min(len(set(days)), ROUTING_DAYS, max(3, len(days) // 40))
        # the busiest hub routes its recent days: a daily report finds a routed day
        per_hub = Counter(h for h, _ in days)
        busiest = max(per_hub, key=lambda h: (per_hub[h], -h))
        recent = {(h, d) for h, d in days if h == busiest and d >= days[-1][1] - 3}
        picked: set[tuple[int, int]] = set(sorted(recent)[-k:])
        while len(picked) < k:
            picked.add(days[int(self.rand() * len(days))])
        for h, day in sorted(picked):
            self.slots[(h, day)] = object_id(self.rng, TASKS_FROM + 86400 * day + 45000)

    def _route(self, tasks: list[Doc]) -> None:
        """Plan each seeded result; its tasks take their trips' order, ``eta`` and ``etd``
        (a dropped task keeps its ``routingResultId`` and no plan: note 52)."""
        groups: dict[str, list[Doc]] = {}
        for t in tasks:
            if t["routingResultId"] is not None:
                groups.setdefault(t["routingResultId"], []).append(t)
        by_id = {t["_id"]: t for ts in groups.values() for t in ts}
        hubs = {h["_id"]: k for k, h in enumerate(self.org.hubs)}
        for routed in groups.values():
            h = hubs[routed[0]["hubId"]]
            plan = plan_of(self.org.hubs[h], routed, self.fleets[h])
            for route in plan["routing"]:
                for trip in route["trips"]:
                    if not trip["isHub"]:
                        t = by_id[trip["visitId"].removeprefix("taskId-")]
                        t["routePlannedOrder"] = trip["order"]
                        t["eta"] = self._time_of_day(trip["eta"])
                        t["etd"] = self._time_of_day(trip["etd"])

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
        st = in_workday(ct + 60 * self.randrange(0, 360))
        et = st + self.choice((4, 8, 24, 48)) * 3600
        person = f"{self.choice(FIRST_NAMES)} {self.choice(LAST_NAMES)}"
        address = f"{self.choice(_STREETS)} No. {self.randrange(1, 250)}, {HUBS[h][0]}"
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
            "label": self._labels(status, fl["name"]),
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
        t.update(NEW_TASK_KEYS)  # keys every real task carries, null until set (notes 23, 52)
        if source == "API" and self.rand() < 0.5:
            t["refId"] = object_id(self.rng, ct)
        histories = [self._history(ct, "create", "Task created", {})]
        updated = ct
        if status != "UNASSIGNED":
            updated = self._assign(t, h, ct, st, et, status, histories)
        elif (h, local_day(ct)) in self.slots and self.rand() < 0.9:
            # planned with its day but placed on no vehicle: dropped, still open (note 52)
            t["routingResultId"] = self.slots[(h, local_day(ct))]
        if self.rand() < 0.15:
            pt = updated + self.randrange(60, 7200)
            t["updatedBy"] = self.choice(self.dispatchers)["email"]
            histories.append(self._history(pt, "patch", "Task updated", {}))
            updated = pt
        t["updatedTime"] = self.when(updated)
        t["histories"] = histories
        self._route_fields(t)
        self._custom(t, tid, fl["name"], person, h, st, status == "DONE")
        return t

    def _labels(self, status: str, flow: str) -> list[str]:
        lr = self.rand()
        labels: list[str] = []
        if lr >= 0.5:
            labels.append(self.choice(_LABELS))
            second = self.choice(_LABELS) if lr >= 0.9 else labels[0]
            if second != labels[0]:
                labels.append(second)
        if flow == "Delivery":
            r = self.rand()
            if status != "DONE" and r < 0.3:
                labels.append(OUTCOME_LABELS[0])
            elif status == "DONE" and r < 0.12:
                labels.append(OUTCOME_LABELS[1 + (r < 0.05)])
        return labels

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
        """Assignment (and, when done, completion) keys; the task's last update time.

        A task of a day its hub routes is mostly routed: assigned to one of the hub's
        drivers, on that driver's vehicle (note 52)."""
        slot = self.slots.get((h, local_day(ct)))
        drivers = self.drivers_by_hub[h]
        routed = slot is not None and bool(drivers) and self.rand() < 0.9
        workers = drivers if routed else (self.workers_by_hub[h] or self.workers_by_hub[0])
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
        self._vehicle(t, who, slot if routed else None)
        if status == "DONE":
            return self._done(t, st, et, at, assignees)
        return at

    def _vehicle(self, t: Doc, who: Doc, result: str | None) -> None:
        """The assignee's own vehicle, always on a routed task, on some others (note 52)."""
        v = self.vehicle_of.get(who["email"])
        if v is None or (result is None and self.rand() >= 0.4):
            return
        t["assignedVehicleId"] = v["_id"]
        t["assignedVehicle"] = {
            "_id": v["_id"],
            "name": v["name"],
            "assignee": v["assignee"],
            "speed": None,  # null in real tasks (note 30)
            "workingTime": v["workingTime"],
        }
        t["routingResultId"] = result

    def _done(self, t: Doc, st: int, et: int, at: int, assignees: list[str]) -> int:
        # mostly inside the window (the part of it in its first local working day), ~12%
        # after endTime (late, in a later working day): the hubs' local day (note 56)
        f = 0.15 + self.rand() * 0.98
        if f <= 1:
            dt = st + int((min(et, workday_end(st)) - st) * f)
        else:
            dt = in_workday(et + int((et - st) * (f - 1)))
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

    def _route_fields(self, t: Doc) -> None:
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

    def _time_of_day(self, clock: str) -> str:
        """A planned ``HH:MM:SS`` as the task spells it (without seconds, some, when mixed)."""
        if self.mixed:
            h, m, sec = (int(x) for x in clock.split(":"))
            return _time_of_day(self.spell, h * 60 + m, sec)
        return clock

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
            t["visitPurpose"] = self.choice(PURPOSES)
            t["visitLocation"] = t["expectedCoordinate"]
            if done:
                t["visitResult"] = self.choice(RESULTS)
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
        t["orderNumber"] = f"SO-{HUBS[h][5]}-{n}"
        t["merchantOrderId"] = f"BLZ-{self.randrange(100_000, 999_999)}"
        t["kota"] = HUBS[h][0] if self.rand() < 0.8 else self.choice(HUBS)[0]
        t["namaPenerima"] = person
        if self.rand() < 0.7:
            t["beratKg"] = round(0.5 + self.rand() * 30, 1)


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
        # standard keys sent as null until set, not left out (note 52); registry fields
        *(
            TASK_SPEC.field(k).name
            for k in (
                "routePlannedOrder",
                "routingResultId",
                "eta",
                "etd",
                "assignedVehicleId",
                "refId",
                "geoLock",
                "updatedBy",
            )
        ),
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
