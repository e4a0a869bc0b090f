"""Vehicles (tag Vehicle): the hubs' fleets, their drivers, working times and capacities.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/vehicles?limit=1")
>>> status, body["per_page"], len(body["data"])
(200, 1, 1)

The list is a Laravel paginator with no envelope around it (the registry's empty
``envelope_list``); a vehicle's 404 carries ``"data": []``. ``POST /vehicles/`` creates
several (note 45) and ``DELETE /vehicles/{hubId}/hub`` removes a hub's fleet. Paths,
envelope keys, paging and sort parameters, the bulk key and maximum and the required
fields are read from the registry.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    bulk_items,
    csv,
    iso_now,
)
from milekit.sandbox.lookups import hub_of, user_by_email
from milekit.sandbox.store import Doc, Op

#: extra keys of a vehicle 404: {"status": false, "message": "data not found", "data": []}
_VEHICLE_404: dict[str, Any] = {"data": []}
_WRITABLE = (
    "name",
    "hubId",
    "assignee",
    "workingTime",
    "breakTime",
    "speed",
    "fixedCost",
    "tags",
    "capacity",
    "oddEven",
)
#: required by PUT /vehicle/{id} and by each item of POST /vehicles/ (their schemas); a
#: PATCH is merged onto the stored vehicle first
_UPDATE_REQUIRED = ("name", "hubId")
#: the order in which a vehicle's required keys are checked (the registry says which)
_CHECK_ORDER = ("name", "hubId", "assignee", "workingTime")


def routes(ctx: Ctx) -> list[Route]:
    v = Vehicles(ctx)
    return [
        *v.routes(bulk_create=v.bulk_create),
        Route("DELETE", "/vehicles/{hubId}/hub", v.delete_hub),
    ]


class Vehicles(StoredResource):
    """A top-level Laravel paginator (the operation's schema; no envelope); a create
    answers 200, a delete without a message."""

    name = "vehicles"
    filters = (Filter("hubId"), Filter("name", "contains"), Filter("assignee", "contains"))
    not_found = "data not found"
    listed = Answer("item")
    created = Answer("status message item", "Success")
    deleted = Answer("status item")

    def listing(self, r: Request) -> list[Doc]:
        """The declared filters, then ``tags``: a vehicle with a tag containing one of the
        comma-separated values (case folded)."""
        docs = super().listing(r)
        if r.query.get("tags"):
            wanted = [t.lower() for t in csv(r.query["tags"])]
            docs = [
                d
                for d in docs
                if any(w in str(t).lower() for t in d.get("tags") or [] for w in wanted)
            ]
        return docs

    def one(self, id_: str) -> Doc:
        return self.ctx.get(self.name, id_, self.not_found, **_VEHICLE_404)

    def _validate(self, body: Any, old: Doc | None, *, full: bool, create: bool) -> Doc:
        merged = (
            body
            if full or old is None
            else dict({k: old[k] for k in _WRITABLE if k in old}, **body)
        )
        v = V(merged, required=self.spec.required_on_create if create else _UPDATE_REQUIRED)
        v.required(*(k for k in _CHECK_ORDER if k in v.must))
        v.check_required()
        name = v.str_("name", max_len=255)
        hub = hub_of(self.ctx, merged.get("hubId"))
        assert name is not None
        assignee = v.str_("assignee")
        if assignee:
            if user_by_email(self.ctx, assignee) is None:
                v.fail("The selected assignee is invalid.")
        out: Doc = {"name": name, "hubId": hub["_id"]}
        if "assignee" in merged:
            out["assignee"] = assignee or ""
        for key in ("workingTime", "breakTime"):
            if merged.get(key) is not None:
                out[key] = _window(v, key, merged[key])
        speed = v.int_("speed", lo=5)
        out["speed"] = (
            speed if speed is not None else (old.get("speed", 25) if old and not full else 25)
        )
        fixed = v.int_("fixedCost", lo=0, hi=100)
        out["fixedCost"] = (
            fixed if fixed is not None else (old.get("fixedCost", 0) if old and not full else 0)
        )
        tags = v.strings("tags", max_items=10)
        out["tags"] = tags if tags is not None else []
        if merged.get("capacity") is not None:
            out["capacity"] = _capacity(v, merged["capacity"])
        odd_even = v.str_("oddEven", enum=("odd", "even"))
        if odd_even is not None:
            out["oddEven"] = odd_even
        out["hubs"] = [{"_id": hub["_id"], "name": hub["name"], "address": hub.get("address")}]
        return out

    def _new(self, fields: Doc) -> Doc:
        stamp = iso_now(self.ctx.now())
        return {
            "_id": self.ctx.new_id(),
            **fields,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        if old is None:
            return self._new(self._validate(r.body, None, full=True, create=True))
        fields = self._validate(r.body, old, full=full, create=False)
        kept = {k: val for k, val in old.items() if k not in _WRITABLE}
        return dict(kept, **fields, updatedTime=iso_now(self.ctx.now()))

    def bulk_create(self, r: Request) -> Response:
        """``{"vehicles": [...]}`` -> ``{"success", "failed", "data": [...]}`` (note 45)."""
        assert self.spec.bulk_key is not None
        items = bulk_items(r.body, self.spec.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        data: list[Doc] = []  # an item's id and message: {"message"} alone when it failed
        with self.ctx.store.lock:
            for item in items:
                try:
                    doc = self._new(self._validate(item, None, full=True, create=False))
                except HttpError as e:
                    data.append({"message": e.message})
                    continue
                ops.append(Op("put", self.name, doc["_id"], doc, item))
                data.append({"_id": doc["_id"], "message": "Success"})
            self.ctx.write(r, ops)
        ok = len(ops)
        return Response(200, {"success": ok, "failed": len(data) - ok, "data": data})

    def delete_hub(self, r: Request) -> Response:
        hub_id = r.params["hubId"]
        mine = [d for d in self.ctx.store.values(self.name) if d.get("hubId") == hub_id]
        if self.ctx.store.get("hubs", hub_id) is None or not mine:
            raise HttpError(404, self.not_found, extra=_VEHICLE_404)
        self.ctx.write(r, [Op("delete", self.name, d["_id"], None, None) for d in mine])
        message = "All vehicles has successfully deleted."
        return Response(200, envelope("status message", message=message))


def _window(v: V, key: str, value: Any) -> Doc:
    """A vehicle's working or break time: an object of two times of day (a one-item list
    is taken as its item); working time also says over how many days (``multiday``)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        v.fail(f"The {v.name(key)} must be an object.")
    v.time(key, value.get("startTime"), f"{v.name(key)}.start time")
    v.time(key, value.get("endTime"), f"{v.name(key)}.end time")
    window: Doc = {"startTime": value["startTime"], "endTime": value["endTime"]}
    if key == "workingTime":
        window["multiday"] = V(value).int_("multiday", lo=0) or 0
    return window


def _capacity(v: V, capacity: Any) -> Doc:
    """A vehicle's capacity: ``{constraint: {min, max}}`` (a list of such objects merged)."""
    if isinstance(capacity, list):
        merged: Doc = {}
        for part in capacity:
            if isinstance(part, dict):
                merged.update(part)
        capacity = merged
    if not isinstance(capacity, dict):
        v.fail("The capacity must be an object.")
    for k, bounds in capacity.items():
        if not isinstance(bounds, dict):
            v.fail(f"The capacity.{k} must be an object.")
        for end in ("min", "max"):
            n = bounds.get(end)
            if n is not None and (isinstance(n, bool) or not isinstance(n, (int, float))):
                v.fail(f"The capacity.{k}.{end} must be a number.")
    return capacity
