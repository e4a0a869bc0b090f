"""The organisation's settings: roles and their permissions, teams (with the users'
``teamId`` pointing back), plugins, the app integration and the locked members.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=10)
>>> sorted(r["name"] for r in org.roles), sum(t["totalUser"] for t in org.teams) > 0
(['Admin', 'Dispatcher', 'Field Worker'], True)
"""

from __future__ import annotations

from milekit.sandbox.seed.base import (
    ADMIN,
    ORG_CREATED,
    STORAGE,
    Doc,
    iso_z,
)
from milekit.sandbox.seed.extras import Extras

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


class SettingsSeed(Extras):
    """Roles, teams, plugins, integrations and locked members."""

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
