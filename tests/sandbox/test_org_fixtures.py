"""Seedable fixtures (issue 24 item 7): an org file loaded on top of the demo or instead of
it, validated before the sandbox starts, exported back in the same format; users' status
changed through the API.

Everything runs against real sandboxes over loopback; the CLI in a real process.
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

import milekit
from milekit.errors import OrgFileError, UsageError
from milekit.sandbox import Sandbox
from milekit.sandbox.orgfile import org_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "guides" / "sandbox-org.schema.json"
HEADERS = {"Authorization": "Bearer sandbox-token"}
REGENERATE = (
    "python -c 'import milekit.sandbox.orgfile as m; m.write_schema()'"
    " > docs/guides/sandbox-org.schema.json"
)

HUB = "66a000000000000000000001"
TONO, WATI = "66a000000000000000000011", "66a000000000000000000012"
TASK_OPEN, TASK_DONE = "66a000000000000000000021", "66a000000000000000000022"
TONO_MAIL = "tono.prasetyo.dpk@example.com"

#: a small organisation as a tester writes it: only the fields that matter to the test
SMALL: dict[str, Any] = {
    "hubs": [
        {
            "_id": HUB,
            "name": "Depok Hub",
            "address": "Jl. Margonda Raya No. 1, Depok",
            "lat": -6.4025,
            "lng": 106.7942,
        }
    ],
    "users": [
        {"_id": TONO, "name": "DRY - Tono Prasetyo", "email": TONO_MAIL, "hubId": [HUB]},
        {
            "_id": WATI,
            "name": "FRZ - Wati Susilo",
            "email": "wati.susilo.dpk@example.com",
            "hubId": [HUB],
            "status": "inactive",
        },
    ],
    "flows": [
        {
            "name": "Antar",
            "pages": [
                {
                    "title": "Page 1",
                    "components": [
                        {
                            "id": "penerima",
                            "component": "input",
                            "inputType": "string",
                            "title": "Penerima",
                            "isRequired": True,
                        }
                    ],
                }
            ],
        }
    ],
    "vehicles": [
        {"name": "DRY B 1234 XY", "hubId": HUB, "assignee": TONO_MAIL, "tags": ["DRY-CDD"]}
    ],
    "tasks": [
        {
            "_id": TASK_OPEN,
            "title": "Antar ke Bu Ani",
            "flow": "Antar",
            "hubId": HUB,
            "penerima": "Bu Ani",
        },
        {
            "_id": TASK_DONE,
            "title": "Antar ke Pak Budi",
            "flow": "Antar",
            "hubId": HUB,
            "assignee": [TONO_MAIL],
            "status": "DONE",
            "doneTime": "2026-09-01T03:00:00+00:00",
            "penerima": "Pak Budi",
        },
    ],
}


def get(sb: Sandbox, path: str) -> Any:
    r = requests.get(sb.url + path, headers=HEADERS, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["_id"] for r in rows]


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(SMALL, indent=2))
    return path


@pytest.fixture
def only_small() -> Iterator[Sandbox]:
    with Sandbox(org=SMALL, org_mode="replace") as sb:
        yield sb


# --- on top of the demo, instead of it ---------------------------------------------------


def test_a_file_on_top_of_the_demo_adds_its_objects(org_file: Path) -> None:
    with Sandbox(tasks=30) as demo, Sandbox(tasks=30, org=org_file) as sb:
        users, demo_users = get(sb, "/users")["data"], get(demo, "/users")["data"]
        assert ids(users) == [*ids(demo_users), TONO, WATI]
        hubs = get(sb, "/hubs?limit=100")["data"]
        assert len(hubs) == len(get(demo, "/hubs?limit=100")["data"]) + 1
        assert get(sb, "/tasks")["tasks"]["total"] == 32
        assert get(sb, f"/task/{TASK_OPEN}")["task"]["penerima"] == "Bu Ani"
        names = [f["name"] for f in get(sb, "/flows")["flows"]["data"]]
        assert len(names) == 6 and "Antar" in names


def test_an_org_only_sandbox_holds_the_file_alone(only_small: Sandbox) -> None:
    sb = only_small
    assert ids(get(sb, "/users")["data"]) == [TONO, WATI]
    assert ids(get(sb, "/hubs")["data"]) == [HUB]
    assert sorted(ids(get(sb, "/tasks")["tasks"]["data"])) == [TASK_OPEN, TASK_DONE]
    vehicles = get(sb, "/vehicles")["data"]
    assert [v["assignee"] for v in vehicles] == [TONO_MAIL]
    assert [f["name"] for f in get(sb, "/flows")["flows"]["data"]] == ["Antar"]
    assert get(sb, "/user")["email"] == "admin@demo.mile.app"  # the token's user stays


def test_missing_standard_fields_are_filled_as_for_created_objects(only_small: Sandbox) -> None:
    """A loaded task has the keys a task created by POST /task has, its hub and assignee
    embedded; users get a status, a role and their organisation."""
    sb = only_small
    r = requests.post(
        sb.url + "/task", headers=HEADERS, json={"flow": "Antar", "hubId": HUB}, timeout=30
    )
    created = r.json()["task"]
    loaded = get(sb, f"/task/{TASK_OPEN}")["task"]
    assert set(created) - {"penerima"} <= set(loaded)
    assert loaded["hub"]["name"] == "Depok Hub" and loaded["assignedTo"] is None
    assert loaded["status"] == "UNASSIGNED" and loaded["flowId"] == created["flowId"]
    done = get(sb, f"/task/{TASK_DONE}")["task"]
    assert done["status"] == "DONE" and done["assignedTo"]["email"] == TONO_MAIL
    assert done["doneTime"] == "2026-09-01T03:00:00+00:00"
    tono = get(sb, f"/user/{TONO}")["data"]
    assert tono["status"] == "active" and tono["role"]["name"] and tono["organizationId"]
    vehicle = get(sb, "/vehicles")["data"][0]
    assert vehicle["hubs"][0]["_id"] == HUB and vehicle["speed"] and "createdTime" in vehicle


def test_an_object_with_a_demo_id_updates_that_object() -> None:
    with Sandbox(tasks=10) as demo:
        worker = get(demo, "/users?status=active")["data"][-1]
    patch = {"users": [{"_id": worker["_id"], "status": "disabled"}]}
    with Sandbox(tasks=10, org=patch) as sb:
        users = get(sb, "/users")["data"]
        mine = [u for u in users if u["_id"] == worker["_id"]]
        assert len(mine) == 1 and mine[0]["status"] == "disabled"
        assert mine[0]["email"] == worker["email"]
        assert worker["_id"] in ids(get(sb, "/users?status=disabled")["data"])


# --- validation ----------------------------------------------------------------------------


def broken(change: Any) -> dict[str, Any]:
    org = copy.deepcopy(SMALL)
    change(org)
    return org


CASES: list[tuple[str, Any, str, str]] = [
    # id, how the file is broken, the JSON path named, what the message says was expected
    ("top-level key", lambda o: o.update(hubz=[]), "$.hubz", "unknown key"),
    ("not a list", lambda o: o.update(users={}), "$.users", "expected a list"),
    ("unknown key", lambda o: o["users"][0].update(colour="red"), "$.users[0].colour", "unknown"),
    ("wrong type", lambda o: o["hubs"][0].update(lat="south"), "$.hubs[0].lat", "a number"),
    ("bad enum", lambda o: o["users"][1].update(status="gone"), "$.users[1].status", "active"),
    ("bad datetime", lambda o: o["tasks"][1].update(doneTime="soon"), "$.tasks[1].doneTime",
     "datetime"),
    ("missing name", lambda o: o["users"][0].pop("name"), "$.users[0].name", "required"),
    ("user's hub", lambda o: o["users"][0].update(hubId=["0" * 24]), "$.users[0].hubId[0]",
     "a hub"),
    ("task's flow", lambda o: o["tasks"][0].update(flow="Jemput"), "$.tasks[0].flow", "a flow"),
    ("vehicle's assignee", lambda o: o["vehicles"][0].update(assignee="x@example.com"),
     "$.vehicles[0].assignee", "a user"),
    ("task's assignee", lambda o: o["tasks"][1].update(assignee=["x@example.com"]),
     "$.tasks[1].assignee[0]", "a user"),
    ("task's vehicle", lambda o: o["tasks"][0].update(assignedVehicleId="1" * 24),
     "$.tasks[0].assignedVehicleId", "a vehicle"),
    ("duplicate id", lambda o: o["users"][1].update(_id=TONO), "$.users[1]._id", "unique"),
    ("duplicate email", lambda o: o["users"][1].update(email=TONO_MAIL), "$.users[1].email",
     "unique"),
    ("custom key of another flow", lambda o: o["tasks"][0].update(kota="Depok"),
     "$.tasks[0].kota", "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "path", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_broken_file_is_refused_naming_file_path_and_expectation(
    tmp_path: Path, change: Any, path: str, expected: str
) -> None:
    file = tmp_path / "org.json"
    file.write_text(json.dumps(broken(change)))
    with pytest.raises(OrgFileError) as ei:
        Sandbox(org=file, org_mode="replace")
    err = ei.value
    assert isinstance(err, UsageError)
    assert err.file == str(file) and err.path == path, str(err)
    assert str(err).startswith(f"{file}: {path}: ") and expected in str(err), str(err)


def test_bad_json_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "org.json"
    file.write_text('{\n  "hubs": [\n    {"name": "x",}\n  ]\n}\n')
    with pytest.raises(OrgFileError, match=r"org\.json: line 3 column \d+: expected JSON"):
        Sandbox(org=file)


def test_a_mapping_is_named_as_such_and_references_may_point_into_the_demo() -> None:
    with pytest.raises(OrgFileError, match=r"^<org mapping>: \$\.users\[0\]\.hubId\[0\]"):
        Sandbox(org={"users": [{"name": "A", "email": "a@example.com", "hubId": ["x"]}]})
    with Sandbox(tasks=5) as demo:
        hub = get(demo, "/hubs")["data"][0]["_id"]
    user = {"name": "A", "email": "a@example.com", "hubId": [hub]}
    with pytest.raises(OrgFileError, match=r"\$\.users\[0\]\.hubId\[0\]: expected the _id of a"):
        Sandbox(org={"users": [user]}, org_mode="replace")  # not there without the demo
    with Sandbox(tasks=5, org={"users": [user]}) as sb:  # on top: the demo's hub is there
        assert get(sb, "/users")["data"][-1]["hubId"] == [hub]


# --- export, round trip, schema ------------------------------------------------------------


def test_export_then_load_instead_gives_the_same_objects_back(tmp_path: Path) -> None:
    with Sandbox(tasks=120) as demo:
        first = demo.export_org(tmp_path / "demo-org.json")
    assert json.loads((tmp_path / "demo-org.json").read_text()) == first
    assert [len(first[k]) for k in ("hubs", "users", "vehicles", "flows", "tasks")] == [
        8,
        50,
        20,
        5,
        120,
    ]
    with Sandbox(org=tmp_path / "demo-org.json", org_mode="replace") as sb:
        second = sb.export_org()
    assert second == first


def test_a_hand_written_file_round_trips(only_small: Sandbox) -> None:
    first = only_small.export_org()
    assert [t["_id"] for t in first["tasks"]] == [TASK_OPEN, TASK_DONE]
    with Sandbox(org=first, org_mode="replace") as sb:
        assert sb.export_org() == first
    with Sandbox(org=SMALL, org_mode="replace") as again:  # undated objects: the demo's now
        assert again.export_org() == first
        assert first["users"][0]["createdTime"] == "2026-10-30T00:00:00+00:00"


def test_the_schema_file_is_the_generated_one_and_exports_follow_it(only_small: Sandbox) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema == org_schema(), f"regenerate: {REGENERATE}"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(only_small.export_org(), schema)
    jsonschema.validate(SMALL, schema)
    with Sandbox(tasks=40) as demo:
        jsonschema.validate(demo.export_org(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken(lambda o: o.update(hubz=[])), schema)


# --- reads of a loaded org -----------------------------------------------------------------


def test_frames_of_a_loaded_org_are_the_files_rows(only_small: Sandbox) -> None:
    sb = only_small
    with milekit.Client(sb.token, sb.url, limiter=None) as c:
        users = milekit.frame("users", client=c, progress=False)
        tasks = milekit.tasks_frame(client=c, progress=False)
    assert list(users.index) == [TONO, WATI]
    assert list(users["status"]) == ["active", "inactive"]
    tasks = tasks.sort_index()
    assert list(tasks.index) == [TASK_OPEN, TASK_DONE]
    assert list(tasks["title"]) == ["Antar ke Bu Ani", "Antar ke Pak Budi"]
    assert list(tasks["penerima"]) == ["Bu Ani", "Pak Budi"]
    assert list(tasks["status"]) == ["UNASSIGNED", "DONE"]


# --- users' status through the API ---------------------------------------------------------


def test_patch_user_changes_status_and_get_users_shows_it(fresh: Sandbox) -> None:
    worker = get(fresh, "/users?status=active")["data"][-1]
    r = requests.patch(
        f"{fresh.url}/user/{worker['_id']}", headers=HEADERS, json={"status": "disabled"}
    )
    assert r.status_code == 200 and r.json()["data"]["status"] == "disabled", r.text
    users = {u["_id"]: u for u in get(fresh, "/users")["data"]}
    assert users[worker["_id"]]["status"] == "disabled"
    assert worker["_id"] in ids(get(fresh, "/users?status=disabled")["data"])
    r = requests.put(
        f"{fresh.url}/user/{worker['_id']}",
        headers=HEADERS,
        json={"name": worker["name"], "status": "active"},
    )
    assert r.status_code == 200 and r.json()["data"]["status"] == "active", r.text


def test_patch_user_refuses_a_status_mileapp_does_not_have(fresh: Sandbox) -> None:
    worker = get(fresh, "/users")["data"][-1]
    r = requests.patch(f"{fresh.url}/user/{worker['_id']}", headers=HEADERS, json={"status": "x"})
    assert r.status_code == 400 and r.json()["message"] == "The selected status is invalid."
    assert get(fresh, f"/user/{worker['_id']}")["data"]["status"] == worker["status"]


def test_patch_of_the_token_user_changes_its_status(fresh: Sandbox) -> None:
    r = requests.patch(fresh.url + "/user", headers=HEADERS, json={"status": "pending"})
    assert r.status_code == 200 and r.json()["property"]["status"] == "pending", r.text
    me = get(fresh, "/user")
    assert me["status"] == "pending"
    assert [u["status"] for u in get(fresh, "/users")["data"] if u["_id"] == me["_id"]] == [
        "pending"
    ]


# --- the command line ----------------------------------------------------------------------


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "milekit", "sandbox", *args]
    env = {"PATH": "", "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_cli_export_org_writes_the_organisation_and_exits(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = run_cli("--tasks", "30", "--export-org", str(out), tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout
    with Sandbox(tasks=30) as sb:
        assert json.loads(out.read_text()) == sb.export_org()


def test_cli_org_only_serves_the_file_and_exports_it(org_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.json"
    r = run_cli("--org", str(org_file), "--org-only", "--export-org", str(out), tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    with Sandbox(org=org_file, org_mode="replace") as sb:
        assert json.loads(out.read_text()) == sb.export_org()
    cmd = [sys.executable, "-m", "milekit", "sandbox", "--port", "0", "--org", str(org_file),
           "--org-only"]  # fmt: skip
    env = {"PATH": "", "HOME": str(tmp_path)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("MileApp sandbox at "), (line, proc.stderr and proc.stderr.read())
        url = line.split()[-1]
        r2 = requests.get(url + "/users", headers=HEADERS, timeout=30)
        assert ids(r2.json()["data"]) == [TONO, WATI]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_cli_org_on_top_of_the_demo(org_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = run_cli("--tasks", "20", "--org", str(org_file), "--export-org", str(out),
                tmp_path=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    exported = json.loads(out.read_text())
    assert len(exported["tasks"]) == 22 and ids(exported["users"])[-2:] == [TONO, WATI]


def test_cli_refuses_a_broken_file_in_one_line(tmp_path: Path) -> None:
    file = tmp_path / "org.json"
    file.write_text(json.dumps(broken(lambda o: o["users"][1].update(status="gone"))))
    r = run_cli("--org", str(file), "--org-only", tmp_path=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"milekit: {file}: $.users[1].status: "), lines
    assert "Traceback" not in r.stderr


def test_cli_org_only_needs_org(tmp_path: Path) -> None:
    r = run_cli("--org-only", tmp_path=tmp_path)
    assert r.returncode == 2 and "--org-only needs --org" in r.stderr
