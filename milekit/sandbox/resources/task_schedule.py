"""Task schedules (tag Task Schedule): tasks created on a daily, weekly, monthly or
dated schedule.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/task/schedules?limit=1")
>>> status, len(body["taskSchedules"]["data"])
(200, 1)

Writes answer under ``data``, reads under ``taskSchedules`` (note 38). Paths, envelope
keys, paging and sort parameters, bulk keys and maxima, id and required fields are read
from the registry.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import DATA, Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    bulk_items,
    csv,
    instant,
    is_date,
    iso_now,
)
from milekit.sandbox.lookups import email_of, hub_of, user_by_email
from milekit.sandbox.store import Doc, Op

PERIODES = ("daily", "weekly", "monthly", "byDate", "custom")


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def routes(ctx: Ctx) -> list[Route]:
    s = Schedules(ctx)
    return s.routes(bulk_create=s.bulk)


class Schedules(StoredResource):
    """Task schedules; writes answer under ``data``, reads under ``taskSchedules`` (note 38)."""

    name = "task_schedules"
    filters = (
        Filter("hubId"),
        Filter("flow"),
        Filter("flowId"),
        Filter("name", "contains"),
        Filter("assignee", "overlap"),
    )
    created = Answer("status message item", "Task Scheduler has been created", key=DATA)
    updated = Answer("status message item", "Update data success", 201, key=DATA)
    deleted = Answer("status message", "Delete success.")

    def listing(self, r: Request) -> list[Doc]:
        """The declared filters, and ``status``: the last run's (``logExecuted``)."""
        docs = super().listing(r)
        if r.query.get("status"):
            wanted = {s.upper() for s in csv(r.query["status"])}
            if not wanted <= {"SUCCESS", "FAILED", "PENDING"}:
                raise HttpError(400, "The selected status is invalid.")
            docs = [d for d in docs if (d.get("logExecuted") or {}).get("status") in wanted]
        return docs

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        return self.schedule(r.body, old, full=full)

    def schedule(self, body: Any, old: Doc | None, *, full: bool) -> Doc:
        """The schedule ``body`` describes (a new one, or ``old`` replaced/patched)."""
        merged = body if full or old is None or not isinstance(body, dict) else dict(old, **body)
        v = V(merged, required=self.spec.required_on_create)
        v.check_required()  # all of them first, in the contract's order
        name = v.str_("name", max_len=255)
        periode = v.str_("periode", enum=PERIODES)
        flow_name = v.str_("flow")
        flow = self.ctx.find("flows", lambda f: f.get("name") == flow_name)
        if flow is None:
            v.fail("The selected flow is invalid.")
        if merged.get("flowId") != flow["_id"]:
            v.fail("The selected flow id is invalid.")
        hub_of(self.ctx, merged.get("hubId"))
        start, end = v.date("startTime"), v.date("endTime")
        assert start is not None and end is not None
        if (instant(end) or 0) < (instant(start) or 0):
            v.fail("The end time must be a date after or equal to start time.")
        v.obj("task")
        assignee = v.strings("assignee") or []
        for email in assignee:
            if user_by_email(self.ctx, email) is None:
                v.fail("The selected assignee is invalid.")
        frequency = v.str_("frequency", enum=("daily", "weekly", "monthly"))
        interval = v.int_("interval", lo=1, hi=99)
        if periode == "custom":
            v.required("frequency", "interval")
        mode = frequency if periode == "custom" else periode
        schedules = v.list_("schedules")
        assert schedules is not None
        clean, times = _schedule_entries(v, schedules, mode)
        out: Doc = {
            "hubId": merged["hubId"],
            "name": name,
            "periode": periode,
            "flow": flow["name"],
            "flowId": flow["_id"],
            "task": merged["task"],
            "schedules": clean,
            "timeSchedules": times,
            "startTime": start,
            "endTime": end,
        }
        if assignee:
            out["assignee"] = assignee
        if periode == "custom":
            out.update(frequency=frequency, interval=interval)
        return self._stamped(out, old)

    def _stamped(self, out: Doc, old: Doc | None) -> Doc:
        """``out`` with the server's keys: new ones for a create, the old ones kept."""
        now = self.ctx.now()
        if old is None:
            doc: Doc = {"_id": self.ctx.new_id(), **out}
            doc.update(
                logExecuted={"status": "PENDING", "message": []},
                createdBy=email_of(self.ctx),
                organizationId=self.ctx.org_id,
                createdTime=iso_now(now),
            )
        else:
            keep = ("_id", "logExecuted", "createdBy", "organizationId", "createdTime")
            doc = {**{k: old[k] for k in keep if k in old}, **out}
        doc.update(updatedBy=email_of(self.ctx), updatedTime=iso_now(now))
        return doc

    def bulk(self, r: Request) -> Response:
        assert self.spec.bulk_key is not None
        items = bulk_items(r.body, self.spec.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        results: list[Doc] = []
        failed: list[int] = []
        for i, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            try:
                doc = self.schedule(item, None, full=True)
            except HttpError as e:
                failed.append(i)
                res: Doc = {"status": False, "message": e.message}
                if isinstance(name, str):
                    res["name"] = name
                results.append(res)
                continue
            ops.append(Op("put", "task_schedules", doc["_id"], doc, item))
            message = self.created.message
            results.append(
                envelope(
                    "status message _id name", message=message, _id=doc["_id"], name=doc["name"]
                )
            )
        self.ctx.write(r, ops)
        ok = len(results) - len(failed)
        return Response(
            201,
            {
                "success": ok,
                "failed": len(failed),
                self.spec.bulk_key: results,
                "failed_index": failed,
            },
        )


def _schedule_entries(v: V, schedules: list[Any], mode: str | None) -> tuple[list[Doc], list[str]]:
    """A schedule's entries, validated for its mode (weekly: a day, monthly: a date of the
    month, byDate: a date), and its ``timeSchedules`` labels ("monday 08:00")."""
    times: list[str] = []
    clean: list[Doc] = []
    for i, s in enumerate(schedules):
        if not isinstance(s, dict):
            v.fail(f"The schedules.{i} must be an object.")
        raw = s.get("time")
        slots = [raw] if isinstance(raw, str) else raw
        if not isinstance(slots, list) or not slots:
            v.fail(f"The schedules.{i}.time field is required.")
        for t in slots:
            v.time("schedules", t, f"schedules.{i}.time")
        key, label = _schedule_key(v, s, i, mode)
        clean.append({key: label, "time": slots} if key else {"time": slots})
        times += [f"{label} {t}".strip() for t in slots]
    return clean, times


def _schedule_key(v: V, s: Doc, i: int, mode: str | None) -> tuple[str, str]:
    """The key that places entry ``i`` in its period (``day``/``date``) and its value."""
    if mode == "weekly":
        day = str(s.get("day", "")).lower()
        if day not in DAYS:
            v.fail(f"The selected schedules.{i}.day is invalid.")
        return "day", day
    if mode == "monthly":
        date = str(s.get("date", ""))
        if not date.isdigit() or not 1 <= int(date) <= 31:
            v.fail(f"The schedules.{i}.date must be a day of the month (1-31).")
        return "date", date
    if mode == "byDate":
        if not is_date(s.get("date")):
            v.fail(f"The schedules.{i}.date does not match the format Y-m-d.")
        return "date", s["date"]
    return "", ""
