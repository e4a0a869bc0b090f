"""Location history: the field workers' points, trips, and the tracking links of a day.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=200)))
>>> status, _, body = app.call("GET", "/api/v3/location-histories?limit=2")
>>> status, len(body["tasks"]["data"])
(200, 2)

A location ``start`` record opens a trip that a ``finish`` record closes (one open trip
per user); each user's newest point carries ``isLatest``; a tracking token is valid
seven days (note 40). Paths, envelope keys, paging and sort parameters, bulk keys and
maxima, id and required fields are read from the registry.
"""

from __future__ import annotations

import os
from typing import Any

from milekit.sandbox.common import Ctx, laravel, paging
from milekit.sandbox.generic import Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    bulk_items,
    instant,
    is_date,
    naive,
    sort_docs,
    truthy,
)
from milekit.sandbox.lookups import email_of, user_by_email
from milekit.sandbox.store import Doc, Op

_TRACKING_DAYS = 7  #: tracking tokens are valid 7 days (note 40)


#: the list filters that are data (startFinish, isLatest and the time window follow)
_FILTERS = tuple(Filter(key) for key in ("email", "taskId", "eventName", "createdFrom"))


def routes(ctx: Ctx) -> list[Route]:
    loc = Locations(ctx)
    return [
        *loc.routes(bulk_create=loc.bulk),
        Route("PUT", "/location-history", loc.put_by_time),
        Route("POST", "/location-history/generate-token", loc.token),
        Route("GET", "/location-history/tracking/{token}", loc.tracking),
    ]


class Locations(StoredResource):
    """Points and trips; listed by ``time`` (the record's instant; the list takes
    ``sortOrder`` only); a projection keeps ``trackedTime`` too (note 27)."""

    name = "location_histories"
    filters = _FILTERS
    order = ("time", "desc")
    always = ("trackedTime",)
    updated = Answer("status message item", "Data has been updated successfully.")
    deleted = Answer("status message item", "Data has been deleted successfully.")

    def listing(self, r: Request) -> list[Doc]:
        q = r.query
        docs = super().listing(r)
        start_finish = truthy(q.get("startFinish"))
        if start_finish is not None:
            docs = [d for d in docs if ("startTime" in d) is start_finish]
        latest = truthy(q.get("isLatest"))
        if latest is not None:
            docs = [d for d in docs if bool(d.get("isLatest")) is latest]
        if q.get("timeBy"):
            by = q["timeBy"]
            if by not in self.spec.time_by:
                raise HttpError(400, "The selected time by is invalid.")
            lo = instant(q["timeFrom"]) if q.get("timeFrom") else None
            hi = instant(q["timeTo"]) if q.get("timeTo") else None
            if q.get("timeFrom") and lo is None:
                raise HttpError(400, "The time from is not a valid date.")
            if q.get("timeTo") and hi is None:
                raise HttpError(400, "The time to is not a valid date.")

            def inside(d: Doc) -> bool:
                t = instant(str(d.get(by, "")))
                return t is not None and (lo is None or t >= lo) and (hi is None or t <= hi)

            docs = [d for d in docs if inside(d)]
        return docs

    def _clean(self, body: Any, old: Doc | None) -> tuple[V, Doc]:
        v = V(body, required=self.spec.required_on_create if old is None else ())
        v.check_required()
        email = v.email("email")
        if email is not None:
            if old is not None and email != old["email"]:
                v.fail("The email cannot be changed.")
            if user_by_email(self.ctx, email) is None:
                v.fail("The selected email is invalid.")
        out: Doc = {}
        lat, lon = v.num("lat"), v.num("lon")
        if lat is not None:
            if not -90 <= lat <= 90:
                v.fail("The lat must be between -90 and 90.")
            out["lat"] = lat
        if lon is not None:
            if not -180 <= lon <= 180:
                v.fail("The lon must be between -180 and 180.")
            out["lon"] = lon
        for key in ("speed", "distance", "duration"):
            n = v.int_(key, lo=0)
            if n is not None:
                out[key] = n
        task_id = v.str_("taskId")
        if task_id is not None:
            if task_id and self.ctx.store.get("tasks", task_id) is None:
                v.fail("The selected task id is invalid.")
            out["taskId"] = task_id
        if v.has("notes"):
            out["notes"] = v.str_("notes")
        event = v.str_("eventName", enum=("otw", "nearBy", "done"))
        if event is not None:
            out["eventName"] = event
        source = v.str_("createdFrom", max_len=100)
        if source is not None:
            out["createdFrom"] = source
        data = v.obj("data")
        if data is not None:
            out["data"] = data
        return v, out

    def _apply_point(self, r: Request, body: Any) -> Doc:
        """Validate and store one posted record; the stored (or updated start) record."""
        v, fields = self._clean(body, None)
        email = body["email"]
        now = self.ctx.now()
        created = v.date("createdTime")
        at = instant(created) if created else now
        assert at is not None
        points = [d for d in self.ctx.store.values("location_histories") if d.get("email") == email]
        open_trip = next((d for d in points if "startTime" in d and d.get("finish") is None), None)
        if v.present("finishTime"):
            closed = self._finished(v, fields, points, open_trip, now)
            self.ctx.put(r, "location_histories", closed, body)
            return closed
        doc = self._point(email, fields, points, at, now)
        ops: list[Op] = []
        if v.present("startTime"):
            if open_trip is not None:
                v.fail("The previous trip has not been finished.")
            opened = instant(v.date("startTime") or "")
            assert opened is not None
            doc.update(startTime=naive(opened), finish=None, trackedTime=0.0, isLatest=False)
        else:
            latest = next((d for d in points if d.get("isLatest")), None)
            doc["isLatest"] = latest is None or doc["time"] >= int(latest.get("time") or 0)
            if doc["isLatest"] and latest is not None:
                was = dict(latest, isLatest=False)
                ops.append(Op("put", "location_histories", latest["_id"], was, None))
        ops.append(Op("put", "location_histories", doc["_id"], doc, body))
        self.ctx.write(r, ops)
        return doc

    def _finished(
        self, v: V, fields: Doc, points: list[Doc], open_trip: Doc | None, now: float
    ) -> Doc:
        """The open trip closed at ``finishTime``: its duration and the distance walked."""
        finish_at = instant(v.date("finishTime") or "")
        if open_trip is None:
            v.fail("There is no started trip to finish.")
        assert finish_at is not None
        started = instant(open_trip["startTime"]) or finish_at
        if finish_at < started:
            v.fail("The finish time must be a date after or equal to the start time.")
        walked = sum(
            int(d.get("distance") or 0)
            for d in points
            if "startTime" not in d and started <= (instant(d["createdTime"]) or 0) <= finish_at
        )
        minutes = int((finish_at - started) // 60)
        return dict(
            open_trip,
            finish={
                "lat": fields["lat"],
                "lon": fields["lon"],
                "finishTime": naive(finish_at),
                "notes": fields.get("notes"),
                "totalDuration": minutes,
                "totalDistance": round(walked / 1000),
            },
            trackedTime=float(minutes),
            updatedBy=email_of(self.ctx),
            updatedTime=naive(now),
        )

    def _point(self, email: str, fields: Doc, points: list[Doc], at: float, now: float) -> Doc:
        """A new location point at ``at``: its id is organisation, e-mail and milliseconds."""
        ms = int(at * 1000)
        taken = {d["_id"] for d in points}
        while f"{self.ctx.org_id}_{email}_{ms}" in taken:
            ms += 1
        doc: Doc = {
            "_id": f"{self.ctx.org_id}_{email}_{ms}",
            "email": email,
            "taskId": "",
            "speed": 0,
            "distance": 0,
            "duration": 0,
            **fields,
            "time": ms,
            "organizationId": self.ctx.org_id,
            "createdBy": email_of(self.ctx),
            "updatedBy": email_of(self.ctx),
            "createdTime": naive(at),
            "updatedTime": naive(now),
            # minutes the device's clock is ahead of the server's: often negative (note 27)
            "trackedTime": round((at - now) / 60, 3),
        }
        doc.setdefault("createdFrom", "mileAppField")
        return doc

    def create(self, r: Request) -> Response:
        with self.ctx.store.lock:
            doc = self._apply_point(r, r.body)
        return Response(self.created.status, self.created.body(self.spec.envelope_one, doc))

    def bulk(self, r: Request) -> Response:
        key = self.spec.bulk_key
        assert key is not None
        items = bulk_items(r.body, key, self.spec.bulk_max)
        results: list[Doc] = []
        with self.ctx.store.lock:
            for item in items:
                email = item.get("email") if isinstance(item, dict) else None
                try:
                    doc = self._apply_point(r, item)
                except HttpError as e:
                    results.append(
                        {
                            "status": False,
                            "message": e.message,
                            "_id": "",
                            "email": email if isinstance(email, str) else "",
                        }
                    )
                    continue
                done = envelope(
                    "status message _id email",
                    message="Success",
                    _id=doc["_id"],
                    email=doc["email"],
                )
                results.append(done)
        ok = sum(1 for x in results if x["status"])
        return Response(201, {"success": ok, "failed": len(results) - ok, key: results})

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        assert old is not None  # a create is a point (_apply_point)
        _, fields = self._clean(r.body, old)
        now = naive(self.ctx.now())
        return dict(old, **fields, updatedBy=email_of(self.ctx), updatedTime=now)

    def put_by_time(self, r: Request) -> Response:
        """``PUT /location-history/``: the point is named by ``email`` + ``createdTime``."""
        v = V(r.body)
        v.required(*self.spec.required_on_create, "createdTime")
        email, created = r.body["email"], v.date("createdTime")
        wanted = naive(instant(created or "") or 0)
        old = self.ctx.find(
            "location_histories",
            lambda d: d.get("email") == email and d.get("createdTime") == wanted,
        )
        if old is None:
            raise HttpError(404, "Data not found")
        return self._write(r, old, self.updated, full=True)

    def update(self, r: Request) -> Response:
        V(r.body).required(*self.spec.required_on_create)  # a replace needs what a create does
        return super().update(r)

    def token(self, r: Request) -> Response:
        v = V(r.body)
        email = v.email("email", required=True)
        assert email is not None
        if user_by_email(self.ctx, email) is None:
            v.fail("The selected email is invalid.")
        now = self.ctx.now()
        date = v.str_("date") or naive(now)[:10]
        if not is_date(date):
            v.fail("The date does not match the format Y-m-d.")
        token = os.urandom(20).hex()
        doc = {
            "_id": token,
            "email": email,
            "date": date,
            "expiresAt": now + _TRACKING_DAYS * 86400,
        }
        self.ctx.write(
            r, [Op("put", "tracking_tokens", token, doc, {"email": email, "date": date})]
        )
        return Response(200, envelope("status message token", message="Success.", token=token))

    def tracking(self, r: Request) -> Response:
        """The token's user's points on the token's date (a public last-known-location view)."""
        grant = self.ctx.store.get("tracking_tokens", r.params["token"])
        if grant is None:
            raise HttpError(401, "Your tracking token is invalid")
        if self.ctx.now() > float(grant["expiresAt"]):
            raise HttpError(401, "Your tracking token has expired")
        page, limit = paging(r.query, self.spec)
        docs = [
            d
            for d in self.ctx.store.values("location_histories")
            if d.get("email") == grant["email"]
            and str(d.get("createdTime", ""))[:10] == grant["date"]
        ]
        docs = sort_docs(docs, "time", "desc", default_by="time")
        return Response(
            200, self.listed.body(self.spec.envelope_list, laravel(r, docs, page, limit))
        )
