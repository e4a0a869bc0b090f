"""The task extras (tag Task; the task list and writes are
:mod:`~milekit.sandbox.resources.task.service`):
the photo gallery, the public tracking view of a task, productivity
tracking and photo uploads.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=200)))
>>> app.call("GET", "/api/v3/task/public/nope")[0]
404

A public link of a finished task expires after thirty days; photos are stored as files
that ``GET /file/view`` streams. Paths, envelope keys and paging parameters are read from
the registry.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

from milekit.sandbox import optimize
from milekit.sandbox.common import (
    Ctx,
    paging,
    resource_routes,
)
from milekit.sandbox.files import store_file
from milekit.sandbox.generic import envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    attribute,
    csv,
    instant,
    project,
    truthy,
)
from milekit.sandbox.lookups import hub_of, user_by_email
from milekit.sandbox.resources.flow import components_of
from milekit.sandbox.store import Doc
from milekit.types.registry import RESOURCES

_TASKS = RESOURCES["tasks"]
_IMAGE_COMPONENTS = ("photo", "signature", "capture")
_OK = "Success."
_PUBLIC_DAYS = 30  #: public task links of finished tasks expire after this many days


def routes(ctx: Ctx) -> list[Route]:
    t = TaskExtras(ctx)
    return [
        *resource_routes(t.gallery_spec, list=t.gallery),
        Route("GET", "/task/public/{id}", t.public),
        Route("GET", "/tasks/tracking", t.tracking),
        Route("POST", "/task/photo/{name}", t.photo),
    ]


class TaskExtras:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.gallery_spec = RESOURCES["tasks_gallery"]

    def _image_keys(self) -> dict[str, list[str]]:
        return {
            f["name"]: [
                c["id"] for c in components_of(f) if c.get("component") in _IMAGE_COMPONENTS
            ]
            for f in self.ctx.store.values("flows")
        }

    def gallery(self, r: Request) -> Response:
        """Tasks with photos: ``{data, buffer, page_processed, last_page, total_estimate,
        countProcessed}`` (strings and a boolean, as documented)."""
        q = {
            k: v
            for k, v in r.query.items()
            if k not in ("flowId", "routingResultId", "lazyLoad", "cursor")
        }
        page, limit = paging(q, self.gallery_spec)
        docs = self.ctx.tasks.matching(q)
        keys = self._image_keys()
        hits: list[tuple[int, Doc]] = []
        for pos, d in enumerate(docs):
            urls = {}
            for cid in keys.get(d.get("flow", ""), []):
                value = d.get(cid)
                values = value if isinstance(value, list) else [value]
                for k, url in enumerate(u for u in values if isinstance(u, str) and u):
                    urls[f"{cid}_{k}_url"] = url
            if urls:
                item = {k: val for k, val in d.items() if k not in _TASKS.detail_only}
                hits.append((pos, {**item, **urls}))
        chunk = hits[(page - 1) * limit : page * limit]
        scanned_to = chunk[-1][0] + 1 if chunk else len(docs)
        pages = max(1, math.ceil(scanned_to / limit))
        boundary = min(len(docs), pages * limit)
        buffer = [item for pos, item in hits[page * limit :] if pos < boundary]
        fields = csv(q.get("fields"))

        def shape(item: Doc) -> Doc:
            if not fields:
                return item
            keep = [*fields, *(k for k in item if k.endswith("_url"))]
            return project(item, keep, (self.gallery_spec.id_field,))

        rows = {
            "data": [shape(i) for _, i in chunk],
            "buffer": [shape(i) for i in buffer],
            "page_processed": str(pages),
            "last_page": page * limit + len(buffer) >= len(hits),
            "total_estimate": str(len(hits)),
            "countProcessed": boundary,
        }
        key = self.gallery_spec.envelope_list
        return Response(200, envelope("status message item", key=key, item=rows, message=_OK))

    def public(self, r: Request) -> Response:
        task = self.ctx.get("tasks", r.params["id"])
        done = instant(str(task.get("doneTime", ""))) if task.get("status") == "DONE" else None
        if done is not None and self.ctx.now() - done > _PUBLIC_DAYS * 86400:
            raise HttpError(401, "You can't track this task because it has expired.")
        flow = self.ctx.find("flows", lambda f: f.get("name") == task.get("flow")) or {}
        lists = [c for c in components_of(flow) if c.get("component") in ("list", "bill")]
        view: Doc = {
            k: task.get(k)
            for k in ("flow", "title", "content", "label", "expectedCoordinate", "status")
        }
        view["listItem"] = [
            _list_item(entry)
            for c in lists
            for entry in task.get(c["id"]) or []
            if isinstance(entry, dict)
        ]
        view["histories"] = [
            {k: h.get(k) for k in ("_id", "action", "notes", "createdAt")}
            for h in task.get("histories") or []
        ]
        location = [loc for email in task.get("assignee") or [] if (loc := self._last_seen(email))]
        detail = [
            {"id": c["id"], "inputType": c.get("inputType", "number"), "component": c["component"]}
            for c in lists
        ]
        data = {"task": view, "taskComponentDetail": detail, "location": location}
        return Response(200, envelope("status message item", item=data, message=_OK))

    def _last_seen(self, email: str) -> Doc | None:
        """A worker's last location point (None without one), as public tracking shows it."""
        points = [
            d
            for d in self.ctx.store.values("location_histories")
            if d.get("email") == email and "startTime" not in d
        ]
        if not points:
            return None
        last = max(points, key=lambda d: int(d.get("time") or 0))
        user = user_by_email(self.ctx, email) or {}
        return {
            "email": email,
            "lat": str(last["lat"]),
            "lon": str(last["lon"]),
            "createdTime": last.get("createdTime"),
            "user": {"name": user.get("name"), "phoneNumber": user.get("phoneNumber")},
        }

    def tracking(self, r: Request) -> Response:
        """Per-worker productivity in a hub and time range (no envelope)."""
        q = r.query
        for key in ("hubId", "timeFrom", "timeTo"):
            if not q.get(key):
                raise HttpError(400, f"The {attribute(key)} field is required.")
        hub_of(self.ctx, q["hubId"])
        lo, hi = instant(q["timeFrom"]), instant(q["timeTo"])
        if lo is None:
            raise HttpError(400, "The time from is not a valid date.")
        if hi is None:
            raise HttpError(400, "The time to is not a valid date.")
        by = q.get("timeBy") or "createdTime"
        if by not in _TASKS.time_by:
            raise HttpError(400, "The selected time by is invalid.")
        tasks = [
            t
            for t in self.ctx.store.values("tasks")
            if t.get("hubId") == q["hubId"]
            and (at := instant(str(t.get(by, "")))) is not None
            and lo <= at <= hi
        ]
        emails = (
            [q["email"]]
            if q.get("email")
            else sorted({a for t in tasks for a in t.get("assignee") or []})
        )
        sources = set(csv(q.get("createdFrom")))
        snap = truthy(q.get("isSnapToRoute")) is True
        counting: dict[str, Doc] = {}
        seen_sources: set[str] = set()
        for email in emails:
            points = self._points(email, lo, hi)
            seen_sources.update(str(d.get("createdFrom")) for d in points if d.get("createdFrom"))
            if sources:
                points = [d for d in points if d.get("createdFrom") in sources]
            mine = [t for t in tasks if email in (t.get("assignee") or [])]
            counting[email] = {
                "doneTask": sum(1 for t in mine if t.get("status") == "DONE"),
                "ongoingTask": sum(1 for t in mine if t.get("status") == "ONGOING"),
                "distance": _distance(points, snap),
                "duration": sum(int(d.get("duration") or 0) for d in points),
            }
        return Response(
            200,
            {
                "doneTotal": sum(1 for t in tasks if t.get("status") == "DONE"),
                "ongoingTotal": sum(1 for t in tasks if t.get("status") == "ONGOING"),
                "taskTotal": len(tasks),
                "totalDistance": sum(c["distance"] for c in counting.values()),
                "totalDuration": sum(c["duration"] for c in counting.values()),
                "counting": counting,
                "createdFrom": sorted(seen_sources),
            },
        )

    def _points(self, email: str, lo: float, hi: float) -> list[Doc]:
        """A worker's location points (not trip starts) between ``lo`` and ``hi``, in order."""
        return sorted(
            (
                d
                for d in self.ctx.store.values("location_histories")
                if d.get("email") == email
                and "startTime" not in d
                and lo <= (instant(str(d.get("createdTime", ""))) or -1) <= hi
            ),
            key=lambda d: int(d.get("time") or 0),
        )

    def photo(self, r: Request) -> Response:
        upload = r.files.get("photo")
        if upload is None:
            raise HttpError(400, "The photo field is required.")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in ("jpg", "jpeg", "png"):
            raise HttpError(400, "The photo must be a file of type: jpg, jpeg, png.")
        if len(upload.data) > 10 * 1024 * 1024:
            raise HttpError(400, "The photo may not be greater than 10240 kilobytes.")
        name = r.form.get("forRenameFile") or r.params["name"]
        day = datetime.fromtimestamp(self.ctx.now(), UTC).strftime("%Y/%m/%d")
        url = store_file(
            self.ctx, r, f"photos/{self.ctx.org_id}/{day}", f"{name}.{ext}", upload.data
        )
        return Response(200, envelope("status url", url=url))


_ITEM_DATA = (
    "_id",
    "dataId",
    "dataTypeId",
    "hubId",
    "createdBy",
    "organizationId",
    "updatedTime",
    "createdTime",
    "value",
)


def _list_item(entry: Doc) -> Doc:
    """One entry of a task's list/bill component, as the public tracking view shows it."""
    return {
        "title": entry.get("name") or entry.get("title"),
        "content": entry.get("content"),
        "data": dict.fromkeys(_ITEM_DATA),
        "qty": entry.get("qty", 1),
        "unitPrice": entry.get("unitPrice"),
        "qtyProcessed": entry.get("qtyProcessed", entry.get("qty", 1)),
    }


def _distance(points: list[Doc], snap: bool) -> int:
    """Metres covered: the points' own snapped distances, or straight lines between them."""
    if snap:
        return sum(int(d.get("distance") or 0) for d in points)
    return sum(
        round(
            optimize.distance_m((a["lat"], a["lon"]), (b["lat"], b["lon"])) / optimize.ROAD_FACTOR
        )
        for a, b in itertools.pairwise(points)
    )
