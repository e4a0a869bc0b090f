"""The rest of the demo organisation, built around the seeded hubs, flows, users and tasks.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> sorted(k for k, v in org.resources().items() if v)[:6]
['activities', 'app_integrations', 'automation_logs', 'automations', 'data', 'data_types']
>>> task_ids = {t["_id"] for t in org.tasks}
>>> all(set(a["subId"]) <= task_ids for a in org.activities)
True

Called by :func:`~milekit.sandbox.seed.build_org` after the tasks exist, with its own
random stream (``random.Random("milekit-extras-<seed>")``): the task bytes of a seed never
change, and these collections are deterministic per seed too. Every reference is real:
schedules, activities, automations and exports name seeded flows, hubs and users;
activities group seeded tasks; location histories follow the field workers who finished
those tasks; routing results plan the tasks that carry their ``routingResultId`` on the
seeded vehicles; data records belong to seeded data types and hubs; teams hold users and
users point back at their teams and roles. Datetime spellings follow note 6.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson

from milekit.sandbox import optimize
from milekit.sandbox.seed import (
    DEMO_DOMAIN,
    HUB_WEIGHTS,
    ORG_CREATED,
    SEED_NOW,
    TASKS_FROM,
    Org,
    activity_state,
    coord_near,
    day_of,
    hms_of,
    iso,
    iso_z,
    object_id,
)

Doc = dict[str, Any]
ADMIN = "admin@demo.mile.app"
STORAGE = f"https://storage.{DEMO_DOMAIN}"

_PERMISSIONS = (
    # name, module, menu, displayName, roles having it
    ("view/task", "task", "Task", "View Task", "ADF"),
    ("create/task", "task", "Task", "Create Task", "AD"),
    ("update/task", "task", "Task", "Update Task", "ADF"),
    ("delete/task", "task", "Task", "Delete Task", "A"),
    ("view/flow", "flow", "Flow", "View Flow", "AD"),
    ("manage/flow", "flow", "Flow", "Manage Flow", "A"),
    ("view/routing", "routing", "Routing", "View Routing", "AD"),
    ("manage/routing", "routing", "Routing", "Manage Routing", "AD"),
    ("view/data", "data", "Data Source", "View Data Source", "ADF"),
    ("manage/data", "data", "Data Source", "Manage Data Source", "AD"),
    ("view/setting", "setting", "Setting", "View Setting", "A"),
    ("manage/setting", "setting", "Setting", "Manage Setting", "A"),
)

_STORE_TYPES = ("minimarket", "supermarket", "vending machine", "warung")
_STORE_BRANDS = ("Toko Makmur", "Warung Sejahtera", "Mart Sentosa", "Toko Berkah", "Swalayan Jaya")
_TIERS = ("Gold", "Silver", "Bronze")


def naive(ts: int) -> str:
    """``2026-08-01 07:44:18``: data sources, location history, imports, automation logs."""
    return f"{day_of(ts)} {hms_of(ts)}"


def _ts(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def _es_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(20))


def add_extras(org: Org, seed: int) -> None:
    """Fill the non-task collections of ``org`` (mutates it; deterministic per ``seed``)."""
    rng = random.Random(f"milekit-extras-{seed}")
    x = _Builder(org, rng)
    org.roles = x.roles()
    org.teams = x.teams()
    x.enrich_flows_and_vehicles()
    org.flow_logs = x.flow_logs()
    org.data_types, org.data = x.data_sources()
    org.task_schedules = x.task_schedules()
    org.workflows, org.activities = x.activities()
    org.location_histories = x.location_histories()
    org.automations = x.automations()
    org.automation_logs = x.automation_logs()
    org.routing_results, org.routing_histories = x.routing_results()
    org.export_configs = x.export_configs()
    org.export_logs = x.export_logs()
    org.import_monitoring = x.import_monitoring()
    org.plugins = x.plugins()
    org.app_integrations = x.app_integrations()
    org.locked_members = x.locked_members()


#: the demo data types' fields: id, title, type, required, default, options, primary key
_STORE_FIELDS: list[Any] = [
    ("dataId", "Data ID", "string", True, None, [], True),
    ("outletName", "Outlet Name", "string", True, None, [], False),
    ("outletHours", "Outlet Hours", "number", False, 12, [], False),
    ("outletType", "Outlet Type", "string", True, None, list(_STORE_TYPES), False),
    ("outletOpen", "Outlet Open", "string", False, "09:00", [], False),
    ("outletClosed", "Outlet Closed", "string", False, "17:00", [], False),
    ("outletContractExpired", "Outlet Contract Expired", "string", False, None, [], False),
    ("outletOpenInWeekend", "Outlet Open In Weekend", "boolean", False, None, [], False),
    ("outletGeolocation", "Outlet Geolocation", "string", False, None, [], False),
    ("outletPhoneNumber", "Outlet Phone Number", "string", False, None, [], False),
    ("outletCloseOrder", "Outlet Close Order", "string", False, None, [], False),
]
_CUSTOMER_FIELDS: list[Any] = [
    ("dataId", "Customer ID", "string", True, None, [], True),
    ("customerName", "Customer Name", "string", True, None, [], False),
    ("address", "Address", "string", False, None, [], False),
    ("phone", "Phone", "string", False, None, [], False),
    ("coordinate", "Coordinate", "string", False, None, [], False),
    ("tier", "Tier", "string", False, "Bronze", list(_TIERS), False),
    ("lastOrderTotal", "Last Order Total", "number", False, None, [], False),
]


class _Builder:
    def __init__(self, org: Org, rng: random.Random) -> None:
        self.org = org
        self.rng = rng
        self.org_id: str = org.organization["id"]
        self.hubs = org.hubs
        self.flows = {f["name"]: f for f in org.flows}
        self.workers = [u for u in org.users if u["role"]["name"] == "Field Worker"]
        self.dispatchers = [u for u in org.users if u["role"]["name"] in ("Admin", "Dispatcher")]

    def oid(self, ts: int) -> str:
        return object_id(self.rng, ts)

    def hub_pick(self) -> Doc:
        return self.rng.choices(self.hubs, weights=HUB_WEIGHTS)[0]

    def workers_of(self, hub_id: str) -> list[Doc]:
        return [u for u in self.workers if hub_id in u["hubId"]]

    # --- users, roles, teams --------------------------------------------------------------

    def roles(self) -> list[Doc]:
        seen: dict[str, Doc] = {}
        for u in self.org.users:
            seen.setdefault(u["role"]["name"], u["role"])
        perms: list[Doc] = [
            {
                "_id": self.oid(ORG_CREATED - 86400 * 30),
                "name": name,
                "module": module,
                "menu": menu,
                "displayName": display,
                "access": True,
                "roles": who,
            }
            for name, module, menu, display, who in _PERMISSIONS
        ]
        policy = self.oid(ORG_CREATED)
        out = []
        for name, ref in seen.items():
            letter = name[0]
            mine = [p for p in perms if letter in p["roles"]]
            details = []
            if name == "Field Worker":
                details = [
                    {
                        "permissionName": "tracking",
                        "interval": 60,
                        "checkinRadius": 200,
                        "checkoutRadius": 200,
                    }
                ]
            out.append(
                {
                    "_id": ref["_id"],
                    "name": name,
                    "isAdmin": name == "Admin",
                    "isDefault": name == "Field Worker",
                    "isDeleted": False,
                    "permissionList": [p["_id"] for p in mine],
                    "permissionDetails": details,
                    "permission": [{k: v for k, v in p.items() if k != "roles"} for p in mine],
                    "passwordPolicyId": policy,
                    "organizationId": self.org_id,
                    "createdTime": iso_z(ORG_CREATED, self.rng.randrange(1_000_000)),
                    "updatedTime": iso_z(ORG_CREATED + 86400, self.rng.randrange(1_000_000)),
                }
            )
        return out

    def teams(self) -> list[Doc]:
        teams: list[Doc] = []
        for i, hub in enumerate(self.hubs):
            local = [w for w in self.workers if w["hubId"][0] == hub["_id"]]
            if len(local) < 2:
                continue
            city = hub["name"].removesuffix(" Hub")
            names = [f"{city} Delivery Team"]
            if len(local) >= 6:
                names.append(f"{city} Field Service")
            ts = ORG_CREATED + 86400 * (5 + i)
            mine = [
                {
                    "_id": self.oid(ts),
                    "name": n,
                    "hubId": hub["_id"],
                    "totalUser": 0,
                    "organizationId": self.org_id,
                    "createdTime": iso_z(ts, self.rng.randrange(1_000_000)),
                    "updatedTime": iso_z(ts + 3600, self.rng.randrange(1_000_000)),
                }
                for n in names
            ]
            for w in local:
                team = self.rng.choice(mine)
                w["teamId"] = [team["_id"]]
                team["totalUser"] += 1
            teams += mine
        return teams

    def enrich_flows_and_vehicles(self) -> None:
        """Documented keys the first seed left out (no nested object a task embeds changes)."""
        for j, f in enumerate(self.org.flows):
            for k, page in enumerate(f["pages"]):
                page.setdefault("id", f"page{k}")
                if k == 0:
                    page.setdefault("enabled", True)
            f["configurations"] = [
                {"id": "startTime", "adjustment": 0},
                {"id": "endTime", "adjustment": 24},
            ]
            f["isDefault"] = j == 0
            f["orderIndex"] = j + 1
            f["updatedBy"] = ADMIN
        for v in self.org.vehicles:
            hub = next(h for h in self.hubs if h["_id"] == v["hubId"])
            v["hubs"] = [{"_id": hub["_id"], "name": hub["name"], "address": hub["address"]}]
            v["fixedCost"] = self.rng.choice((0, 0, 5, 10, 20))
            v["breakTime"] = {"startTime": "12:00", "endTime": "13:00"}
            # one key per capacity constraint, {min, max} (note 45)
            v["capacity"] = {k: {"min": 0, "max": n} for k, n in v["capacity"].items()}

    # --- flows ----------------------------------------------------------------------------

    def flow_logs(self) -> list[Doc]:
        logs: list[Doc] = []
        for f in self.org.flows:
            created = _ts(f["createdTime"]) or ORG_CREATED
            comps = f["pages"][0]["components"]
            n = len(comps)

            def snapshot(
                version: int, at: int, f: Doc = f, comps: list[Doc] = comps, n: int = n
            ) -> Doc:
                # each version added one component: version v has n - (V - v) of them
                keep = max(1, n - (f["version"] - version))
                page = dict(f["pages"][0], components=[dict(c) for c in comps[:keep]])
                return dict(
                    f,
                    pages=[page],
                    version=version,
                    updatedTime=iso_z(at, self.rng.randrange(1_000_000)),
                )

            for version in range(1, f["version"] + 1):
                at = created + 3600 * 6 * (version - 1)
                logs.append(
                    {
                        "_id": self.oid(at),
                        "flowId": f["_id"],
                        "action": "create" if version == 1 else "put",
                        "changedBy": ADMIN,
                        "version": version,
                        "rawData": {} if version == 1 else snapshot(version - 1, at - 3600),
                        "changeData": snapshot(version, at),
                        "organizationId": self.org_id,
                        "createdTime": iso_z(at, self.rng.randrange(1_000_000)),
                        "updatedTime": iso_z(at, self.rng.randrange(1_000_000)),
                    }
                )
        at = ORG_CREATED + 86400 * 4
        first = self.org.flows[0]
        logs.append(
            {
                "_id": self.oid(at),
                "flowId": first["_id"],
                "action": "reorder",
                "changedBy": ADMIN,
                "version": first["version"],
                "rawData": {"orderIndex": 2},
                "changeData": {"orderIndex": 1},
                "organizationId": self.org_id,
                "createdTime": iso_z(at, self.rng.randrange(1_000_000)),
                "updatedTime": iso_z(at, self.rng.randrange(1_000_000)),
            }
        )
        return logs

    # --- data sources ---------------------------------------------------------------------

    def data_sources(self) -> tuple[list[Doc], list[Doc]]:
        ts = ORG_CREATED + 86400 * 8
        store = self._data_type("Store", _STORE_FIELDS, False, ts)
        customer = self._data_type("Customer", _CUSTOMER_FIELDS, True, ts + 3600)
        return [store, customer], [*self._stores(store, ts), *self._customers(customer, ts)]

    def _data_type(self, name: str, fields: list[Any], common: bool, at: int) -> Doc:
        out = []
        for fid, title, typ, req, default, options, pk in fields:
            fd: Doc = {
                "id": fid,
                "title": title,
                "type": typ,
                "optionData": options,
                "required": req,
            }
            if default is not None:
                fd["default"] = default
            if pk:
                fd["primaryKey"] = True
            if fid == "outletCloseOrder":
                fd["format"] = "date-time"
            out.append(fd)
        return {
            "_id": self.oid(at),
            "name": name,
            "fields": out,
            "limitUser": False,
            "commonData": common,
            "provider": "internal",
            "providerConfig": None,
            "organizationId": self.org_id,
            "createdBy": ADMIN,
            "updatedBy": ADMIN,
            "createdTime": naive(at),
            "updatedTime": naive(at + 86400),
        }

    def _stores(self, store: Doc, ts: int) -> list[Doc]:
        """4-7 outlets of the Store data type per hub."""
        records: list[Doc] = []
        for i, hub in enumerate(self.hubs):
            city = hub["name"].removesuffix(" Hub")
            for k in range(self.rng.randint(4, 7)):
                at = ts + 86400 * (2 + i) + 600 * k
                close = at + 86400 * self.rng.randrange(30, 400)
                records.append(
                    {
                        "_id": self.oid(at),
                        "dataId": f"STR-{city[:3].upper()}-{k + 1:02d}",
                        "dataTypeId": store["_id"],
                        "outletName": f"{self.rng.choice(_STORE_BRANDS)} {city} {k + 1}",
                        "outletHours": self.rng.choice((8, 10, 12, 24)),
                        "outletType": self.rng.choice(_STORE_TYPES),
                        "outletOpen": self.rng.choice(("07:00", "08:00", "09:00")),
                        "outletClosed": self.rng.choice(("17:00", "21:00", "22:00")),
                        "outletContractExpired": day_of(close),
                        "outletOpenInWeekend": self.rng.random() < 0.7,
                        "outletGeolocation": coord_near(self.rng.random, hub["lat"], hub["lng"]),
                        "outletPhoneNumber": f"+62 {self.rng.randrange(21, 99)} "
                        f"{self.rng.randrange(100, 999)} {self.rng.randrange(1000, 9999)}",
                        "outletCloseOrder": naive(close - 7200),
                        "data_type": {"_id": store["_id"], "name": store["name"]},
                        "hubId": hub["_id"],
                        **self._record_stamps(at),
                    }
                )
        return records

    def _record_stamps(self, at: int) -> Doc:
        """A data record's organisation and its created/updated stamps (an admin's)."""
        return {
            "organizationId": self.org_id,
            "createdBy": ADMIN,
            "updatedBy": ADMIN,
            "createdTime": naive(at),
            "updatedTime": naive(at + 3600 * self.rng.randrange(1, 500)),
        }

    def _customers(self, customer: Doc, ts: int) -> list[Doc]:
        """40 customers (common data: no hub)."""
        records: list[Doc] = []
        first = ("Andi", "Budi", "Citra", "Dewi", "Eka", "Fajar", "Gita", "Hana", "Irma", "Joko")
        last = ("Wijaya", "Santoso", "Halim", "Lubis", "Putra", "Utami", "Kusuma", "Nugroho")
        for k in range(40):
            at = ts + 86400 * 12 + 1800 * k
            hub = self.hub_pick()
            records.append(
                {
                    "_id": self.oid(at),
                    "dataId": f"CUST-{k + 1:04d}",
                    "dataTypeId": customer["_id"],
                    "customerName": f"{self.rng.choice(first)} {self.rng.choice(last)}",
                    "address": f"Jl. Melati No. {self.rng.randrange(1, 200)}, "
                    f"{hub['name'].removesuffix(' Hub')}",
                    "phone": f"+628{self.rng.randrange(10**9, 10**10)}",
                    "coordinate": coord_near(self.rng.random, hub["lat"], hub["lng"]),
                    "tier": self.rng.choice(_TIERS),
                    "lastOrderTotal": 1000 * self.rng.randrange(20, 2000),
                    "data_type": {"_id": customer["_id"], "name": customer["name"]},
                    **self._record_stamps(at),
                }
            )
        return records

    # --- schedules and activities ---------------------------------------------------------

    def task_schedules(self) -> list[Doc]:
        periods: list[tuple[str, list[Doc], str | None, int | None]] = [
            ("daily", [{"time": ["07:00"]}], None, None),
            ("weekly", [{"day": "monday", "time": ["08:00"]}], None, None),
            ("monthly", [{"date": "1", "time": ["07:30"]}], None, None),
            ("byDate", [{"date": "2026-11-15", "time": ["09:00"]}], None, None),
            ("custom", [{"day": "friday", "time": ["13:00"]}], "weekly", 2),
            ("custom", [{"time": ["06:00"]}], "daily", 3),
        ]
        by_flow: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            by_flow[t["flow"]].append(t)
        out = []
        for i in range(12):
            out.append(self._schedule(i, *periods[i % len(periods)], by_flow))
        return out

    def _schedule(
        self,
        i: int,
        periode: str,
        schedules: list[Doc],
        freq: str | None,
        interval: int | None,
        by_flow: dict[str, list[Doc]],
    ) -> Doc:
        """The demo org's schedule ``i`` of period ``periode``, with its last execution."""
        hub = self.hub_pick()
        flow = self.rng.choice(list(self.flows.values()))
        comps = flow["pages"][0]["components"]
        task = {
            c["id"]: f"Scheduled {c['title'].lower()}"
            for c in comps
            if c["inputType"] == "string" and c["component"] == "input"
        }
        at = TASKS_FROM - 86400 * (20 - i)
        start = at + 86400
        doc: Doc = {
            "_id": self.oid(at),
            "hubId": hub["_id"],
            "name": f"{periode.capitalize()} {flow['name'].lower()} #{i + 1}",
            "periode": periode,
            "flow": flow["name"],
            "flowId": flow["_id"],
            "task": task,
            "schedules": schedules,
            "timeSchedules": [
                f"{s.get('day') or s.get('date')} {t}" if s.get("day") or s.get("date") else t
                for s in schedules
                for t in s["time"]
            ],
            "startTime": day_of(start),
            "endTime": day_of(start + 86400 * self.rng.choice((30, 90, 180))),
        }
        workers = self.workers_of(hub["_id"])
        if workers and self.rng.random() < 0.7:
            doc["assignee"] = [self.rng.choice(workers)["email"]]
        if freq is not None:
            doc["frequency"], doc["interval"] = freq, interval
        executed = [t for t in by_flow[flow["name"]] if t["hubId"] == hub["_id"]]
        status = self.rng.choice(("SUCCESS", "SUCCESS", "FAILED", "PENDING"))
        log: Doc = {"status": status, "message": [], "lastExecute": iso(SEED_NOW - 86400)}
        if status == "SUCCESS" and executed:
            log["taskId"] = executed[-1]["_id"]
        elif status == "FAILED":
            log["message"] = ["The assignee is not active."]
        doc["logExecuted"] = log
        creator = self.rng.choice(self.dispatchers)["email"]
        doc.update(
            createdBy=creator,
            updatedBy=creator,
            organizationId=self.org_id,
            createdTime=iso(at),
            updatedTime=iso(at + 3600),
        )
        return doc

    def activities(self) -> tuple[list[Doc], list[Doc]]:
        workflows: list[Doc] = []
        for k, (name, steps) in enumerate(
            (
                ("Pickup and Deliver", ("Pickup", "Delivery")),
                ("Survey and Inspect", ("Visit", "House Inspection")),
            )
        ):
            at = ORG_CREATED + 86400 * (6 + k)
            workflows.append(
                {
                    "_id": self.oid(at),
                    "name": name,
                    "steps": [
                        {"order": i + 1, "flow": s, "flowId": self.flows[s]["_id"]}
                        for i, s in enumerate(steps)
                    ],
                    "organizationId": self.org_id,
                    "createdTime": iso(at),
                    "updatedTime": iso(at),
                }
            )
        index: dict[tuple[str, str], list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            index[(t["hubId"], t["flow"])].append(t)
        used: set[str] = set()
        out: list[Doc] = []
        for wf in workflows:
            first, second = (str(s["flow"]) for s in wf["steps"])
            for _ in range(15):
                hub = self.hub_pick()
                firsts = [t for t in index[(hub["_id"], first)] if t["_id"] not in used]
                seconds = [t for t in index[(hub["_id"], second)] if t["_id"] not in used]
                if not firsts or not seconds:
                    continue
                a = self.rng.choice(firsts)
                ta = _ts(a["createdTime"]) or 0
                b = min(seconds, key=lambda t: (abs((_ts(t["createdTime"]) or 0) - ta), t["_id"]))
                used.update((a["_id"], b["_id"]))
                out.append(self._master(wf, hub, [a, b]))
        return workflows, out

    def _master(self, wf: Doc, hub: Doc, children: list[Doc]) -> Doc:
        status, assignee = activity_state(children)
        starts = [_ts(c["startTime"]) or 0 for c in children]
        ends = [_ts(c["endTime"]) or 0 for c in children]
        created = min(_ts(c["createdTime"]) or 0 for c in children)
        updated = max(_ts(c["updatedTime"]) or 0 for c in children)
        return {
            "_id": self.oid(created),
            "organizationId": self.org_id,
            "taskType": "activityMaster",
            "flow": "Activity",
            "workflowId": wf["_id"],
            "workflow": {"_id": wf["_id"], "name": wf["name"], "organizationId": self.org_id},
            "subId": [c["_id"] for c in children],
            "title": f"{wf['name']} - {children[0]['title'].split(' - ', 1)[-1]}",
            "assignee": assignee,
            "status": status,
            "startTime": iso(min(starts)),
            "endTime": iso(max(ends)),
            "hubId": hub["_id"],
            "hub": {
                "_id": hub["_id"],
                "name": hub["name"],
                "lat": hub["lat"],
                "lng": hub["lng"],
                "address": hub["address"],
            },
            "createdBy": ADMIN,
            "updatedBy": ADMIN,
            "createdFrom": "WEB",
            "createdTime": iso(created),
            "updatedTime": iso(max(updated, created)),
        }

    # --- location history -----------------------------------------------------------------

    def location_histories(self) -> list[Doc]:
        window = SEED_NOW - 10 * 86400
        trips: dict[tuple[str, str], list[tuple[int, Doc]]] = defaultdict(list)
        for t in self.org.tasks:
            done = _ts(t.get("doneTime"))
            if t.get("status") != "DONE" or done is None or done < window or not t.get("doneBy"):
                continue
            trips[(t["doneBy"], day_of(done))].append((done, t))
        keys = sorted(trips)
        if len(keys) > 60:
            keys = sorted(self.rng.sample(keys, 60))
        users = {u["email"]: u for u in self.org.users}
        hubs = {h["_id"]: h for h in self.hubs}
        gps_users = {u["email"] for u in self.workers if self.rng.random() < 0.25}
        out: list[Doc] = []
        for email, _day_key in keys:
            stops = sorted(trips[(email, _day_key)], key=lambda p: (p[0], p[1]["_id"]))
            user = users.get(email)
            hub = hubs.get(user["hubId"][0]) if user else hubs.get(stops[0][1]["hubId"])
            assert hub is not None
            source = "GPS 1" if email in gps_users else "mileAppField"
            out += self._worker_day(email, stops, hub, source)
        out.sort(key=lambda d: (d["time"], d["_id"]))
        latest: dict[str, Doc] = {}
        for doc in out:
            if "startTime" not in doc:
                latest[doc["email"]] = doc
        for doc in latest.values():
            doc["isLatest"] = True
        return out

    def _worker_day(
        self, email: str, stops: list[tuple[int, Doc]], hub: Doc, source: str
    ) -> list[Doc]:
        """One worker's day: the trip start (finished back at the hub) and, per task done,
        a point on the way and one at the task."""
        start = stops[0][0] - 45 * 60
        finish = stops[-1][0] + 30 * 60
        here = (hub["lat"], hub["lng"])
        points: list[Doc] = []
        total_m = 0
        last_t = start
        for k, (done, task) in enumerate(stops):
            dest = optimize.coord(task.get("doneCoordinate")) or here
            for event, at, pos in (
                ("otw", max(last_t + 60, done - 300), _between(here, dest, 0.85)),
                ("done", max(last_t + 120, done), dest),
            ):
                d = optimize.distance_m(here, pos)
                total_m += d
                p = self._point(email, task, k, event, at, pos, d, max(1, (at - last_t) // 60))
                p["createdFrom"] = source
                if event == "otw":
                    p["distanceToDest"] = float(optimize.distance_m(pos, dest))
                points.append(p)
                here, last_t = pos, at
        walked = total_m + optimize.distance_m(here, (hub["lat"], hub["lng"]))
        return [self._trip_start(email, hub, source, start, finish, walked), *points]

    def _point(
        self,
        email: str,
        task: Doc,
        k: int,
        event: str,
        at: int,
        pos: tuple[float, float],
        d: int,
        dt: int,
    ) -> Doc:
        return {
            "_id": f"{self.org_id}_{email}_{at * 1000 + k}",
            "email": email,
            "taskId": task["_id"],
            "lat": round(pos[0], 7),
            "lon": round(pos[1], 7),
            "speed": min(80, round(d / 1000 / (dt / 60))) if dt else 0,
            "distance": d,
            "duration": dt,
            "eventName": event,
            "time": at * 1000 + k,
            "createdFrom": None,
            "isLatest": False,
            "organizationId": self.org_id,
            "createdBy": email,
            "updatedBy": email,
            "createdTime": naive(at),
            "updatedTime": naive(at),
            # the device's clock against the server's: often negative (note 27)
            "trackedTime": round(self.rng.uniform(-4.0, 1.0), 3),
        }

    def _trip_start(
        self, email: str, hub: Doc, source: str, start: int, finish: int, walked: int
    ) -> Doc:
        return {
            "_id": f"{self.org_id}_{email}_{start * 1000}",
            "email": email,
            "taskId": "",
            "lat": hub["lat"],
            "lon": hub["lng"],
            "speed": 0,
            "distance": 0,
            "duration": 0,
            "startTime": naive(start),
            "notes": None,
            "time": start * 1000,
            "createdFrom": source,
            "isLatest": False,
            "organizationId": self.org_id,
            "createdBy": email,
            "updatedBy": email,
            "finish": {
                "lat": hub["lat"],
                "lon": hub["lng"],
                "finishTime": naive(finish),
                "notes": None,
                "totalDuration": (finish - start) // 60,
                "totalDistance": round(walked / 1000),
            },
            "trackedTime": float((finish - start) // 60),
            "createdTime": naive(start),
            "updatedTime": naive(finish),
        }

    # --- automations ----------------------------------------------------------------------

    def automations(self) -> list[Doc]:
        out = []
        for k, (name, event, kind, data_type, details, rules, active) in enumerate(
            self._automation_specs()
        ):
            at = ORG_CREATED + 86400 * (15 + k)
            creator = self.rng.choice(self.dispatchers)["email"]
            out.append(
                {
                    "_id": self.oid(at),
                    "name": name,
                    "event": event,
                    "automationType": kind,
                    "dataType": data_type,
                    "automationDetails": details,
                    "rules": rules,
                    "organizationId": self.org_id,
                    "isActive": active,
                    "createdBy": creator,
                    "updatedBy": creator,
                    "createdTime": iso(at),
                    "updatedTime": iso(at + 3600),
                }
            )
        return out

    def _automation_specs(self) -> list[tuple[str, str, str, str, Doc, Doc, bool]]:
        """The demo automations as data: name, event, type, data type, details, rules,
        active (one of each automation type, note 42)."""
        delivery, pickup, visit = self.flows["Delivery"], self.flows["Pickup"], self.flows["Visit"]
        jakarta = self.hubs[0]
        worker = (self.workers_of(jakarta["_id"]) or self.workers)[0]["email"]
        specs: list[tuple[str, str, str, str, Doc, Doc, bool]] = [
            (
                "Notify shop when delivered",
                "onTaskFinished",
                "webhook",
                "task",
                {
                    "url": f"https://hooks.{DEMO_DOMAIN}/delivery-done",
                    "headers": {"x-api-key": "demo-webhook-key", "org": "demo"},
                },
                {"flow": delivery["name"], "flowId": delivery["_id"]},
                True,
            ),
            (
                "Deliver what was picked up",
                "onTaskFinished",
                "createTask",
                "task",
                {
                    "flow": delivery["name"],
                    "flowId": delivery["_id"],
                    "taskData": {"receiverName": "$refFlow.senderName", "title": "$refFlow.title"},
                },
                {"flow": pickup["name"], "flowId": pickup["_id"]},
                True,
            ),
            (
                "Assign new Jakarta visits",
                "onTaskCreated",
                "assignTask",
                "task",
                {"hubId": jakarta["_id"], "assignee": [worker], "reassignment": "assignee"},
                {"flow": visit["name"], "flowId": visit["_id"]},
                True,
            ),
            (
                "Move pickups to Jakarta",
                "onTaskCreated",
                "moveTask",
                "task",
                {"hubId": jakarta["_id"]},
                {"flow": pickup["name"], "flowId": pickup["_id"], "fields": {"parcelCount": 20}},
                False,
            ),
            (
                "Remember customers",
                "onTaskFinished",
                "createOrUpdateDataSource",
                "task",
                {
                    "dataTypeId": self.org.data_types[1]["_id"],
                    "dataTypeName": self.org.data_types[1]["name"],
                    "dataId": "$refFlow.customerName",
                    "dataSource": {"customerName": "$refFlow.customerName"},
                },
                {"flow": visit["name"], "flowId": visit["_id"]},
                True,
            ),
            (
                "WhatsApp the receiver",
                "onTaskAssigned",
                "notification",
                "task",
                {
                    "channel": "whatsapp",
                    "taskFieldReceiver": "receiverPhone",
                    "secretKey": "demo-fonnte-key",
                    "message": "Your parcel is on its way: $refFlow.title",
                },
                {"flow": delivery["name"], "flowId": delivery["_id"]},
                True,
            ),
        ]
        return specs

    def automation_logs(self) -> list[Doc]:
        by_flow: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            by_flow[t["flow"]].append(t)
        logs: list[Doc] = []
        for auto in self.org.automations:
            if not auto["isActive"]:
                continue
            pool = by_flow.get(auto["rules"]["flow"], [])
            if auto["event"] == "onTaskFinished":
                pool = [t for t in pool if t.get("doneTime")]
            for t in self.rng.sample(pool, min(15, len(pool))):
                logs.append(self._automation_log(auto, t))
        logs.sort(key=lambda h: (h["sort"][0], h["_id"]))
        return logs

    def _automation_log(self, auto: Doc, t: Doc) -> Doc:
        """One run of ``auto`` on task ``t``, as an Elasticsearch hit (note 42)."""
        stamp = t.get("doneTime") if auto["event"] == "onTaskFinished" else t["createdTime"]
        at = (_ts(stamp) or SEED_NOW) + self.rng.randrange(1, 5)
        ok = self.rng.random() < 0.85
        kind = auto["automationType"]
        url = (
            auto["automationDetails"].get("url", "")
            if kind == "webhook"
            else "/api/v3/task"
            if kind == "createTask"
            else f"/api/v3/task/{t['_id']}"
        )
        code = ("201" if kind == "createTask" else "200") if ok else "500"
        response = {"status": ok, "message": "Success" if ok else "Upstream error"}
        ms = self.rng.randrange(10, 900)
        src: Doc = {
            "automationId": auto["_id"],
            "automationName": auto["name"],
            "name": auto["name"],
            "automationEvent": auto["event"],
            "automationType": kind,
            "dataType": auto["dataType"],
            "attempt": "0",
            "statusCode": code,
            "isSuccess": "true" if ok else "false",
            "severity": "NOTICE" if ok else "ERROR",
            "response": orjson.dumps(response).decode(),
            "request": orjson.dumps({"_id": t["_id"], "flow": t["flow"]}).decode(),
            "automationDetails": orjson.dumps(auto["automationDetails"]).decode(),
            "automationUrl": url,
            "referenceId": t["_id"],
            "taskId": t["_id"],
            "timestamp": naive(at),
            "dispatchAt": naive(at),
            "startRequestTime": f"{naive(at)}.{self.rng.randrange(10_000):04d}",
            "finishRequestTime": naive(at + 1),
            "responseTime": f"{ms / 1000:.4f}",
            "delayTime": f"{at - 1}.{self.rng.randrange(1_000_000):06d}",
            "env": "sandbox",
            "organizationId": self.org_id,
            "@version": "1",
            "@timestamp": f"{day_of(at)}T{hms_of(at)}.{ms:03d}Z",
        }
        return {
            "_index": f"log-automation-{day_of(at).replace('-', '.')}",
            "_type": "_doc",
            "_id": _es_id(self.rng),
            "_score": None,
            "_source": src,
            "sort": [at * 1000 + ms],
        }

    # --- routing --------------------------------------------------------------------------

    def routing_results(self) -> tuple[list[Doc], list[Doc]]:
        groups: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            if "routingResultId" in t:
                groups[t["routingResultId"]].append(t)
        hubs = {h["_id"]: h for h in self.hubs}
        users = {u["_id"]: u for u in self.dispatchers}
        results: list[Doc] = []
        histories: list[Doc] = []
        for rid in sorted(groups, key=lambda r: (r[:8], r)):
            tasks = sorted(groups[rid], key=lambda t: (t.get("routePlannedOrder", 0), t["_id"]))
            counts: dict[str, int] = defaultdict(int)
            for t in tasks:
                counts[t["hubId"]] += 1
            hub = hubs[max(counts, key=lambda h: (counts[h], h))]
            vehicles = [
                v for v in self.org.vehicles if v["hubId"] == hub["_id"]
            ] or self.org.vehicles[:2]
            visits = [_visit_of(t) for t in tasks]
            config = dict(_ROUTING_CONFIG, capacityConstraint=["weight", "volume"])
            fleet = [dict(v, id=v["_id"]) for v in vehicles]
            result = optimize.plan(hub["_id"], (hub["lat"], hub["lng"]), visits, fleet, config)
            created = int(rid[:8], 16)
            creator = users[self.rng.choice(sorted(users))]
            code = f"Route-{day_of(created).replace('-', '')}-{len(results) + 1:03d}"
            result.update(countryCode="ID", resultCode=code)
            doc = self._routing_result(rid, hub, config, result, creator, code, created)
            if result["routing"] and result["routing"][0]["trips"][1:-1]:
                histories.append(self._routing_move(rid, result, creator, created + 600))
                doc["totalResultHistories"] = 1
            results.append(doc)
        return results, histories

    def _routing_result(
        self, rid: str, hub: Doc, config: Doc, result: Doc, creator: Doc, code: str, created: int
    ) -> Doc:
        routed = result["summary"]["routedVisits"]
        dropped = result["summary"]["droppedVisits"]
        return {
            "_id": rid,
            "name": f"Routing {datetime.fromtimestamp(created, UTC):%m-%d %H:%M}",
            "status": "done",
            "resultCode": code,
            "routingDate": day_of(created + 86400),
            "hubId": hub["_id"],
            "hubCoordinate": f"{hub['lat']},{hub['lng']}",
            "configurationId": None,
            "configuration": config,
            "result": result,
            "resultTotal": {"routing": routed, "dropped": dropped, "total": routed + dropped},
            "organizationId": self.org_id,
            "createdBy": creator["_id"],
            "user": {"name": creator["name"]},
            "createdFrom": "WEB",
            "dispatchStatus": "done",
            "dispatchMessage": "Dispatched",
            "isShown": True,
            "totalResultHistories": 0,
            "finishTime": iso(created + 120),
            "createdTime": iso(created),
            "updatedTime": iso(created + 120),
        }

    def _routing_move(self, rid: str, result: Doc, creator: Doc, at: int) -> Doc:
        """A routing result's history entry: its first visit moved to the first vehicle."""
        moved = result["routing"][0]["trips"][1]
        others = result["routing"][1:]
        return {
            "_id": self.oid(at),
            "resultId": rid,
            "action": "move",
            "description": f" Visit  moved to vehicle "
            f"{result['routing'][0]['vehicleName']} by {creator['name']}",
            "visits": [{"visitId": moved["visitId"], "visitName": moved["visitName"]}],
            "vehicleFrom": others[0]["vehicleName"] if others else "dropped",
            "vehicleTo": result["routing"][0]["vehicleName"],
            "createdFrom": "WEB",
            "createdType": "individualMove",
            "createdBy": creator["name"],
            "version": 1,
            "organizationId": self.org_id,
            "createdTime": iso_z(at),
            "updatedTime": iso_z(at, self.rng.randrange(1_000_000)),
        }

    # --- exports, imports -----------------------------------------------------------------

    def export_configs(self) -> list[Doc]:
        reserved = [
            ("_id", "Id"),
            ("flow", "Flow"),
            ("hub", "Hub"),
            ("title", "Title"),
            ("status", "Status"),
            ("doneTime", "Done Time"),
        ]
        out = []
        for k, (name, flow_names) in enumerate(
            (("Daily Delivery Report", ("Delivery", "Pickup")), ("Visit Summary", ("Visit",)))
        ):
            at = ORG_CREATED + 86400 * (20 + k)
            flows = [self.flows[n] for n in flow_names]
            fields: list[Doc] = [
                {
                    "component": "input",
                    "id": fid,
                    "inputType": "string",
                    "source": "reservedKey",
                    "title": title,
                    "uniqueTitle": title,
                }
                for fid, title in reserved
            ]
            for f in flows:
                for c in f["pages"][0]["components"]:
                    if c["component"] in ("input", "select"):
                        fields.append(
                            {
                                "component": c["component"],
                                "id": c["id"],
                                "inputType": c["inputType"],
                                "title": c["title"],
                                "required": c["isRequired"],
                                "visible": True,
                                "page": "page0",
                                "flowId": [f["_id"]],
                                "flowName": [f["name"]],
                                "uniqueTitle": c["title"],
                            }
                        )
            out.append(
                {
                    "_id": self.oid(at),
                    "name": name,
                    "description": f"{name} for {', '.join(flow_names)} tasks",
                    "collection": "task",
                    "flowIds": [f["_id"] for f in flows],
                    "fields": fields,
                    "organizationId": self.org_id,
                    "createdTime": iso_z(at, self.rng.randrange(1_000_000)),
                    "updatedTime": iso_z(at + 86400, self.rng.randrange(1_000_000)),
                }
            )
        return out

    def export_logs(self) -> list[Doc]:
        kinds = (
            ("task", "Task Export"),
            ("task", "Delivery Report"),
            ("data", "Store Data Export"),
            ("vehicle", "Fleet Report"),
            ("route", "Routing Export"),
            ("driver", "Driver Export"),
        )
        emails = [ADMIN] * 3 + [u["email"] for u in self.dispatchers[1:3]]
        out = []
        for k in range(24):
            at = SEED_NOW - 86400 * 25 + 86400 * k + self.rng.randrange(3600 * 8)
            data_type, label = self.rng.choice(kinds)
            status = "Done" if k < 21 and self.rng.random() < 0.85 else "Failed"
            if k == 23:
                status = "Processing"
            file_type = self.rng.choice(("xlsx", "xlsx", "json"))
            src: Doc = {
                "organizationId": self.org_id,
                "dataType": data_type,
                "dataName": f"{label} - {day_of(at)}",
                "status": status,
                "requestAt": iso(at),
                "email": self.rng.choice(emails),
                "fileType": file_type,
                "totalRecords": self.rng.randrange(50, 5000) if status == "Done" else 0,
            }
            if status != "Processing":
                src["completedAt"] = iso(at + self.rng.randrange(20, 600))
            if status == "Done":
                src["fileUrl"] = (
                    f"{STORAGE}/exports/{day_of(at).replace('-', '')}/"
                    f"{data_type}_{self.org_id}_{at}.{file_type}"
                )
            if status == "Failed":
                src["errorMessage"] = "Query timeout: Dataset too large"
            out.append(
                {
                    "_index": "export",
                    "_type": "_doc",
                    "_id": f"exp_{self.oid(at)}",
                    "_score": 1,
                    "_source": src,
                }
            )
        return out

    def import_monitoring(self) -> list[Doc]:
        store, customer = self.org.data_types
        out = []
        for k in range(9):
            at = SEED_NOW - 86400 * 40 + 86400 * 4 * k
            kind = ("datasource", "datasource", "task")[k % 3]
            status = self.rng.choice(("success", "success", "partially", "failed"))
            rows = self.rng.randrange(20, 800)
            valid = rows if status == "success" else 0 if status == "failed" else rows - 7
            hub = self.hub_pick()
            doc: Doc = {
                "_id": self.oid(at),
                "organizationId": self.org_id,
                "type": kind,
                "hubId": hub["_id"],
                "totalRows": rows,
                "totalValid": valid,
                "totalInvalid": rows - valid,
                "status": status,
                "totalChunks": rows // 100 + 1,
                "processedChunks": rows // 100 + 1,
                "processedAt": naive(at + 90),
                "processingDuration": 90,
                "createdBy": self.rng.choice(self.dispatchers)["email"],
                "updatedBy": "system",
                "createdTime": naive(at),
                "updatedTime": naive(at + 90),
            }
            if kind == "datasource":
                dt = store if k % 2 == 0 else customer
                doc.update(
                    filename=f"{dt['name'].lower()}_import_{k + 1}.xlsx",
                    dataTypeId=dt["_id"],
                    dataTypeName=dt["name"],
                    fileTemplate=f"{STORAGE}/templates/template_{dt['name']}.xlsx",
                )
            else:
                flow = self.rng.choice(list(self.flows.values()))
                doc.update(
                    filename=f"tasks_import_{k + 1}.csv",
                    flowId=flow["_id"],
                    flowName=flow["name"],
                    fileTemplate=f"{STORAGE}/templates/template_task_import.xlsx",
                )
            if status in ("partially", "failed"):
                doc["fileFailedImported"] = f"{STORAGE}/failed/failed_{doc['filename']}"
            if status == "failed":
                doc["errorMessage"] = "Row 2: The hub id field is required."
            out.append(doc)
        return out

    # --- settings -------------------------------------------------------------------------

    def plugins(self) -> list[Doc]:
        specs = (
            ("Signature Pad Pro", "system", "MileApp", "active", True),
            ("Route Helper", self.org_id, self.org.organization["name"], "active", True),
            ("COD Calculator", self.org_id, self.org.organization["name"], "inactive", False),
            ("Barcode Checker", self.org_id, self.org.organization["name"], "draft", False),
        )
        out = []
        for k, (name, owner, owner_name, status, used) in enumerate(specs):
            at = ORG_CREATED + 86400 * (30 + k)
            pid = self.oid(at)
            slug = name.lower().replace(" ", "-")
            out.append(
                {
                    "id": pid,
                    "name": name,
                    "description": f"{name} add-on for the field app",
                    "resourceFile": f"{slug}.js",
                    "icon": f"{STORAGE}/plugins/{pid}/{slug}.svg" if k % 2 == 0 else None,
                    "organizationId": owner,
                    "organizationName": owner_name,
                    "resourceUrl": f"{STORAGE}/plugins/{pid}/{slug}.js",
                    "isUsed": used,
                    "customModuleId": self.oid(at) if used else None,
                    "status": status,
                    "usageCount": self.rng.randrange(0, 50) if used else 0,
                    "createdBy": ADMIN,
                    "updatedBy": None if k % 2 else ADMIN,
                    "createdTime": iso_z(at, self.rng.randrange(1_000_000)),
                    "updatedTime": iso_z(at + 86400, self.rng.randrange(1_000_000)),
                }
            )
        return out

    def app_integrations(self) -> list[Doc]:
        at = ORG_CREATED + 86400 * 3
        iid = self.oid(at)
        bits = self.rng.getrandbits
        tenant = f"{bits(32):08x}-{bits(16):04x}-4a0b-9c1d-{bits(48):012x}"
        return [
            {
                "_id": iid,
                "integrationType": "azure",
                "azureAuthUrl": f"https://login.microsoftonline.com/{tenant}/saml2",
                "azureCert": f"{STORAGE}/app-integrations/{iid}/azure.cer",
                "organizationId": self.org_id,
                "createdTime": iso_z(at, self.rng.randrange(1_000_000)),
                "updatedTime": iso_z(at + 86400, self.rng.randrange(1_000_000)),
            }
        ]

    def locked_members(self) -> list[Doc]:
        picked = self.rng.sample(self.workers, min(2, len(self.workers)))
        return [
            {"_id": u["email"], "email": u["email"], "attempt": "5", "ttl": 1788 - 300 * k}
            for k, u in enumerate(sorted(picked, key=lambda u: u["email"]))
        ]


def _between(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


#: the demo routing results' configuration (``capacityConstraint`` added per result)
_ROUTING_CONFIG: Doc = {
    "name": "Configuration Default",
    "capacityConstraint": None,
    "multitrip": False,
    "returnToHub": True,
    "clustering": False,
    "useAllVehicle": False,
    "autoSpeed": False,
    "defaultSpeed": 25,
    "defaultVisitTime": 10,
    "autoSplit": "none",
    "useOddEven": False,
}


def _visit_of(t: Doc) -> Doc:
    """A routed task as the optimisation's visit (its id: ``taskId-<task id>``)."""
    return {
        "id": f"taskId-{t['_id']}",
        "name": t["title"],
        "address": t["content"],
        "coordinate": t["expectedCoordinate"],
        "visitTime": t.get("duration", 10),
        "capacity": {
            "weight": t.get("packageWeight", t.get("beratKg", 1)),
            "volume": round(0.02 + t.get("duration", 10) / 500, 2),
        },
        "tags": [],
    }
