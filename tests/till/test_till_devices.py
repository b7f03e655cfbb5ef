"""Till devices: a supervisor registers each till of their canteen (its secret shown once,
only its digest kept), sees when each last synced and how many offline sales it holds, and
revokes a lost one; a till proves which device it is, and a wrong, revoked or other
canteen's device is refused with its code.  On SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib

import pytest

from support import api_token
from till.device_helpers import device_headers, register_device, scalar


def refused(r, status: int, code: str) -> None:
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code


def test_a_supervisor_registers_a_till_and_only_its_secrets_digest_is_kept(app, client):
    device = register_device(client, "1号收银台")
    assert device["name"] == "1号收银台" and device["canteen"] == "YLW01" and device["live"]
    assert device["last_sync_at"] is None and device["queued"] == 0
    stored = scalar(app, "SELECT token_hash FROM till_devices WHERE id = :i", i=device["id"])
    assert stored == hashlib.sha256(device["token"].encode()).hexdigest() != device["token"]
    assert scalar(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'device_registered' AND target = :i",
                  i=device["id"]) == 1
    listed = client.get("/api/v1/devices", headers=api_token(client, "supervisor")).get_json()
    assert [d["name"] for d in listed["devices"]] == ["1号收银台"]
    assert "token" not in listed["devices"][0]


def test_two_live_tills_of_a_canteen_never_share_a_name(client):
    first = register_device(client, "1号收银台")
    supervisor = api_token(client, "supervisor")
    again = client.post("/api/v1/devices", json={"name": "1号收银台"}, headers=supervisor)
    refused(again, 409, "device_name_taken")
    assert client.post(f"/api/v1/devices/{first['id']}/revoke", headers=supervisor).status_code == 200
    assert client.post("/api/v1/devices", json={"name": "1号收银台"}, headers=supervisor).status_code == 201
    # Another canteen may use the name.
    jm = client.post("/api/v1/devices", json={"name": "1号收银台"}, headers=api_token(client, "jm-supervisor"))
    assert jm.status_code == 201 and jm.get_json()["canteen"] == "JM01"


@pytest.mark.parametrize("name", ["", "   ", "收" * 41, "1号\u202e台"])
def test_a_tills_name_is_visible_text_of_1_to_40_characters(client, name):
    r = client.post("/api/v1/devices", json={"name": name}, headers=api_token(client, "supervisor"))
    assert r.status_code == 422, r.get_json()


def test_a_cashier_may_not_register_list_or_revoke_tills(client):
    device = register_device(client)
    cashier = api_token(client, "cashier")
    assert client.post("/api/v1/devices", json={"name": "3号"}, headers=cashier).status_code == 403
    assert client.get("/api/v1/devices", headers=cashier).status_code == 403
    assert client.post(f"/api/v1/devices/{device['id']}/revoke", headers=cashier).status_code == 403


def test_the_heartbeat_records_last_seen_queued_and_last_in_sync(client, till):
    device = register_device(client)
    on_device = device_headers(till.headers, device)
    holding = client.post("/api/v1/devices/heartbeat", json={"queued": 3}, headers=on_device).get_json()
    assert holding["queued"] == 3 and holding["last_seen_at"] and holding["last_sync_at"] is None
    synced = client.post("/api/v1/devices/heartbeat", json={"queued": 0}, headers=on_device).get_json()
    assert synced["queued"] == 0 and synced["last_sync_at"] is not None
    listed = client.get("/api/v1/devices", headers=api_token(client, "supervisor")).get_json()["devices"]
    assert (listed[0]["queued"], listed[0]["last_sync_at"]) == (0, synced["last_sync_at"])
    r = client.post("/api/v1/devices/heartbeat", json={"queued": -1}, headers=on_device)
    assert r.status_code == 422


@pytest.mark.parametrize("presented, status, code", [
    (None, 400, "device_required"),
    ("", 400, "device_required"),
    ("no-colon", 403, "device_unknown"),
    ("{id}:wrong-secret", 403, "device_unknown"),
    ("0000000000:{token}", 403, "device_unknown"),  # a right secret under another id
    ("{id}:", 403, "device_unknown"),
])
def test_a_till_that_cannot_prove_its_device_is_refused(client, till, presented, status, code):
    device = register_device(client)
    headers = dict(till.headers)
    if presented is not None:
        headers["X-Till-Device"] = presented.format(id=device["id"], token=device["token"])
    for path, body in (("/api/v1/devices/lease", None), ("/api/v1/devices/heartbeat", {"queued": 0}),
                       ("/api/v1/devices/lease/return", {"lease_id": "x"})):
        refused(client.post(path, json=body, headers=headers), status, code)


def test_a_revoked_till_is_refused_and_revoking_twice_says_so(app, client, till):
    device = register_device(client)
    supervisor = api_token(client, "supervisor")
    assert client.post(f"/api/v1/devices/{device['id']}/revoke", headers=supervisor).get_json()["revoked_at"]
    on_device = device_headers(till.headers, device)
    refused(client.post("/api/v1/devices/heartbeat", json={"queued": 0}, headers=on_device), 403, "device_revoked")
    refused(client.post("/api/v1/devices/lease", headers=on_device), 403, "device_revoked")
    refused(client.post(f"/api/v1/devices/{device['id']}/revoke", headers=supervisor), 409, "device_already_revoked")
    refused(client.post("/api/v1/devices/nope/revoke", headers=supervisor), 404, "device_not_found")
    assert scalar(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'device_revoked'") == 1
    listed = client.get("/api/v1/devices", headers=supervisor).get_json()["devices"]
    assert [d["live"] for d in listed] == [False]


def test_a_till_of_jm01_cannot_lease_for_ylw01(app, client, till):
    jm_device = register_device(client, "景明1号", supervisor="jm-supervisor")
    refused(client.post("/api/v1/devices/lease", headers=device_headers(till.headers, jm_device)),
            403, "device_other_canteen")
    assert scalar(app, "SELECT COUNT(*) FROM free_meal_leases") == 0
    # Nor may YLW01's supervisor revoke it or list JM01's tills.
    supervisor = api_token(client, "supervisor")
    refused(client.post(f"/api/v1/devices/{jm_device['id']}/revoke", headers=supervisor), 403, "other_canteen")
    assert client.get("/api/v1/devices?canteen=JM01", headers=supervisor).status_code == 403
    # An admin (the whole district) uses the device for its own canteen.
    lease = client.post("/api/v1/devices/lease", headers=device_headers(api_token(client, "admin"), jm_device))
    assert lease.status_code == 200 and lease.get_json()["canteen"] == "JM01"


def test_the_back_office_lists_the_canteens_tills_and_revokes_one(app, client, till):
    from support import browser_login

    device = register_device(client, "1号收银台")
    client.post("/api/v1/devices/lease", headers=device_headers(till.headers, device))
    client.post("/api/v1/devices/heartbeat", json={"queued": 2}, headers=device_headers(till.headers, device))
    app.config["WTF_CSRF_ENABLED"] = False  # the form posts below carry no page's token
    browser = app.test_client()
    browser_login(browser, "supervisor")
    page = browser.get("/backoffice/devices").get_data(as_text=True)
    assert "1号收银台" in page and "使用中" in page
    r = browser.post(f"/backoffice/devices/{device['id']}/revoke")
    assert r.status_code == 302
    page = browser.get("/backoffice/devices").get_data(as_text=True)
    assert "已注销" in page and "已注销收银机：1号收银台" in page
    assert scalar(app, "SELECT used FROM free_meal_counters WHERE canteen_id = 'YLW01' AND business_date = :today") == 0
