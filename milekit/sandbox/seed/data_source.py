"""Data types and their records, export configurations, the export log and the import
monitor.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=10)
>>> [t["name"] for t in org.data_types], {d["dataTypeId"] for d in org.data} == {
...     t["_id"] for t in org.data_types}
(['Store', 'Customer'], True)
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.seed.base import (
    ADMIN,
    ORG_CREATED,
    SEED_NOW,
    STORAGE,
    Doc,
    coord_near,
    day_of,
    iso,
    iso_z,
    naive,
)
from milekit.sandbox.seed.extras import Extras

_STORE_TYPES = ("minimarket", "supermarket", "vending machine", "warung")
_STORE_BRANDS = ("Toko Makmur", "Warung Sejahtera", "Mart Sentosa", "Toko Berkah", "Swalayan Jaya")
_TIERS = ("Gold", "Silver", "Bronze")

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


class DataSeed(Extras):
    """The data sources, the exports and the imports."""

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
