"""Flows' later keys and change log, the automations and their run log.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> {f["_id"] for f in org.flows} >= {log["flowId"] for log in org.flow_logs}
True
>>> sorted({a["automationType"] for a in org.automations})[:3]
['assignTask', 'createOrUpdateDataSource', 'createTask']
"""

from __future__ import annotations

import random
from collections import defaultdict

import orjson

from milekit.sandbox.seed.base import (
    ADMIN,
    DEMO_DOMAIN,
    ORG_CREATED,
    SEED_NOW,
    Doc,
    day_of,
    hms_of,
    iso,
    iso_z,
    naive,
    ts_of,
)
from milekit.sandbox.seed.extras import Extras


class FlowSeed(Extras):
    """The flows' documented extra keys and their log; automations and their log."""

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

    def flow_logs(self) -> list[Doc]:
        logs: list[Doc] = []
        for f in self.org.flows:
            created = ts_of(f["createdTime"]) or ORG_CREATED
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
        at = (ts_of(stamp) or SEED_NOW) + self.rng.randrange(1, 5)
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


def _es_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(20))
