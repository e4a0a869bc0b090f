"""Imports of data source records (tag Data Import) from CSV or xlsx, and their
import monitoring records.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/import-monitoring/nope")
>>> status, body["failedCode"]
(404, 'import-004')

``POST /data/import`` reads the upload into records now (validated as
:mod:`~milekit.sandbox.resources.data_source` validates them) and keeps an import
monitoring record of the outcome, with a CSV of the refused rows. Paths, envelope keys,
paging and sort parameters are read from the registry.
"""

from __future__ import annotations

import csv as csvlib
import io
from typing import Any

from milekit.sandbox import xlsx
from milekit.sandbox.common import Ctx
from milekit.sandbox.files import STORAGE
from milekit.sandbox.generic import Filter, StoredResource
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    Upload,
    csv,
    naive,
    truthy,
)
from milekit.sandbox.lookups import email_of
from milekit.sandbox.resources.data_source import Records
from milekit.sandbox.resources.data_type import field_kind
from milekit.sandbox.store import Doc, Op


def routes(ctx: Ctx) -> list[Route]:
    imports = Imports(ctx)
    return [Route("POST", "/data/import", imports.import_data), *imports.routes()]


class Imports(StoredResource):
    """Imports of records from CSV or xlsx, and the import monitoring records of them."""

    name = "import_monitoring"
    filters = (Filter("type"), Filter("status"), Filter("dataTypeId", "eq"))

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(ctx)
        self.records = Records(ctx)

    @staticmethod
    def _ierr(status: int, message: str, code: str) -> HttpError:
        return HttpError(status, message, extra={"failedCode": code})

    def listing(self, r: Request) -> list[Doc]:
        q = r.query
        if not set(csv(q.get("type"))) <= {"datasource", "task", "visit", "route"}:
            raise self._ierr(400, "Invalid type value", "import-003")
        if not set(csv(q.get("status"))) <= {"onprocess", "success", "partially", "failed"}:
            raise self._ierr(400, "Invalid status value", "import-003")
        return super().listing(r)

    def one(self, id_: str) -> Doc:
        doc = self.ctx.store.get(self.name, id_)
        if doc is None:
            raise self._ierr(404, "Import monitoring record not found", "import-004")
        return doc

    def import_data(self, r: Request) -> Response:
        """Read the uploaded CSV/xlsx into records now; the answer is the queued snapshot."""
        upload, ext, dtype, hub_id = self._import_target(r)
        stamp = naive(self.ctx.now())
        queued = self._queued(upload.filename, dtype, hub_id, stamp)
        try:
            rows, error = _table(upload.data, ext), None
        except ValueError as e:
            rows, error = [], str(e)
        header = [str(h).strip() for h in rows[0]] if rows else []
        ops, failed = self._import_rows(header, rows[1:], dtype, hub_id)
        total = max(0, len(rows) - 1)
        valid = total - len(failed)
        status = (
            "failed" if error or (total and not valid) else "partially" if failed else "success"
        )
        done: Doc = dict(
            queued,
            totalRows=total,
            totalValid=valid,
            totalInvalid=len(failed),
            status=status,
            totalChunks=total // 1000 + 1,
            processedChunks=total // 1000 + 1,
            processedAt=stamp,
            processingDuration=0,
            updatedBy="system",
        )
        if error:
            done["errorMessage"] = error
        if failed:
            op = _failed_file(queued["_id"], header, failed)
            ops.append(op)
            done["fileFailedImported"] = op.id
        ops.append(
            Op("put", "import_monitoring", queued["_id"], done, {"file": upload.filename, **r.form})
        )
        self.ctx.write(r, ops)
        message = "Import process has been queued successfully"
        return Response(200, self.got.body(self.spec.envelope_one, queued, message=message))

    def _import_target(self, r: Request) -> tuple[Upload, str, Doc, str | None]:
        """The upload, its extension, the data type and the hub of an import (or 400/422)."""
        upload = r.files.get("file")
        if upload is None:
            raise self._ierr(400, "The file field is required.", "import-001")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in ("csv", "xls", "xlsx"):
            raise self._ierr(422, "The file must be a file of type: csv, xls, xlsx.", "import-002")
        if len(upload.data) > 20 * 1024 * 1024:
            raise self._ierr(422, "The file may not be greater than 20480 kilobytes.", "import-002")
        type_id = r.form.get("dataTypeId")
        if not type_id:
            raise self._ierr(400, "The data type id field is required.", "import-001")
        dtype = self.ctx.store.get("data_types", type_id)
        if dtype is None:
            raise self._ierr(400, "The selected data type id is invalid.", "import-003")
        hub_id = r.form.get("hubId") or None
        if not dtype.get("commonData"):
            if not hub_id:
                raise self._ierr(400, "The hub id field is required.", "import-001")
            if self.ctx.store.get("hubs", hub_id) is None:
                raise self._ierr(400, "The selected hub id is invalid.", "import-003")
        return upload, ext, dtype, hub_id

    def _queued(self, filename: str, dtype: Doc, hub_id: str | None, stamp: str) -> Doc:
        """The import-monitoring record as the answer shows it: queued, nothing counted."""
        queued: Doc = {
            "_id": self.ctx.new_id(),
            "organizationId": self.ctx.org_id,
            "type": "datasource",
            "hubId": hub_id,
            "filename": filename,
            "totalRows": 0,
            "totalValid": 0,
            "totalInvalid": 0,
            "status": "onprocess",
            "dataTypeId": dtype["_id"],
            "dataTypeName": dtype["name"],
            "fileTemplate": f"{STORAGE}/templates/template_{dtype['name']}.xlsx",
            "createdBy": email_of(self.ctx),
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        if hub_id is None:
            del queued["hubId"]
        return queued

    def _import_rows(
        self, header: list[str], rows: list[list[Any]], dtype: Doc, hub_id: str | None
    ) -> tuple[list[Op], list[list[Any]]]:
        """The writes of the valid rows (created, or updated by primary key) and the
        failed rows with their error as the last cell."""
        ops: list[Op] = []
        failed: list[list[Any]] = []
        taken: set[tuple[Any, ...]] = set()
        for values in rows:
            item = {
                h: val
                for h, val in zip(header, values, strict=False)
                if h and val not in (None, "")
            }
            item["dataTypeId"] = dtype["_id"]
            _coerce(item, dtype)
            if hub_id is not None:
                item.setdefault("hubId", hub_id)
            old = self.records.match(item)
            try:
                doc = self.records.record(item, old, full=old is None, taken=taken)
            except HttpError as e:
                failed.append([*values, e.message])
                continue
            ops.append(Op("put", "data", doc["_id"], doc, item))
        return ops, failed


def _failed_file(import_id: str, header: list[str], failed: list[list[Any]]) -> Op:
    """The CSV of the rows an import refused (with an ``error`` column), as a stored file."""
    url = f"{STORAGE}/failed/failed_{import_id}.csv"
    buf = io.StringIO()
    writer = csvlib.writer(buf)
    writer.writerow([*header, "error"])
    writer.writerows(failed)
    data = buf.getvalue().encode()
    return Op("put", "files", url, {"_id": url, "contentType": "text/csv", "hex": data.hex()}, None)


def _table(data: bytes, ext: str) -> list[list[Any]]:
    if ext == "xls":
        raise ValueError("The sandbox reads csv and xlsx files; legacy .xls is not supported.")
    if ext == "xlsx":
        return xlsx.read(data)
    text = data.decode("utf-8-sig", "replace")
    return [list(row) for row in csvlib.reader(io.StringIO(text))]


def _coerce(item: Doc, dtype: Doc) -> None:
    """Spreadsheet cells are text: numbers and booleans of the data type, parsed."""
    for f in dtype.get("fields") or []:
        val = item.get(f["id"])
        if not isinstance(val, str):
            continue
        kind = field_kind(f)
        if kind == "number":
            try:
                num = float(val)
            except ValueError:
                continue
            item[f["id"]] = int(num) if num.is_integer() else num
        elif kind == "boolean" and truthy(val) is not None:
            item[f["id"]] = truthy(val)
