"""Drive the graphtest fake as a new user would: MSAL Python for an app-only
token with a certificate, then plain Graph requests with requests.

Unmodified clients: MSAL and requests verify TLS against the CA the test
names in REQUESTS_CA_BUNDLE; nothing here turns verification off.
validate_authority=False is MSAL's documented switch for an authority that
is not a Microsoft host (it skips instance discovery on
login.microsoftonline.com, as azidentity's DisableInstanceDiscovery does).

Usage: msal_smoke.py CONFIG.json; prints one JSON document of results.
"""

import hashlib
import json
import sys
import traceback
import urllib.parse

import msal
import requests

SOURCE_PROP = "String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name SmokeSourceId"
TAGS_PROP = "StringArray {00020329-0000-0000-C000-000000000046} Name SmokeTags"
CHUNK = 1310720  # 4 x 320 KiB, under the 4 MB a request may carry


def main():
    cfg = json.load(open(sys.argv[1]))
    out = {}
    graph = cfg["graph"]
    user = graph + "/users/" + urllib.parse.quote(cfg["mailbox"], safe="@")

    def step(name, fn):
        try:
            out[name] = {"ok": True, **fn()}
        except Exception as e:  # a failed step is a result, not the end
            out[name] = {"ok": False, "error": repr(e), "trace": traceback.format_exc()}
        return out[name]

    session = requests.Session()
    app = msal.ConfidentialClientApplication(
        cfg["client_id"],
        authority=cfg["authority"],
        client_credential={"private_key": open(cfg["key_file"]).read(), "thumbprint": cfg["thumbprint"]},
        validate_authority=False,
        http_client=session,
    )
    token = {}

    def get_token():
        r = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        if "access_token" not in r:
            raise RuntimeError("no token: %s %s" % (r.get("error"), r.get("error_description")))
        token["value"] = r["access_token"]
        return {"token_type": r.get("token_type"), "expires_in": r.get("expires_in")}

    if not step("token", get_token)["ok"]:
        print(json.dumps(out))
        return

    api = requests.Session()
    api.headers["Authorization"] = "Bearer " + token["value"]

    def checked(resp):
        if resp.status_code >= 300:
            raise RuntimeError("%s %s: %d %s" % (resp.request.method, resp.url, resp.status_code, resp.text[:500]))
        return resp

    def pages(url, params=None, headers=None):
        """Every item of a collection, following @odata.nextLink."""
        items, n = [], 0
        resp = checked(api.get(url, params=params, headers=headers)).json()
        while True:
            n += 1
            items += resp["value"]
            nxt = resp.get("@odata.nextLink")
            if not nxt:
                return items, n, resp
            resp = checked(api.get(nxt, headers=headers)).json()

    def folders():
        items, n, _ = pages(user + "/mailFolders", {"$top": "3", "$select": "displayName,totalItemCount"})
        return {"names": [f["displayName"] for f in items], "pages": n}

    def messages():
        items, n, _ = pages(user + "/mailFolders/inbox/messages", {"$top": "5", "$select": "subject,isRead"})
        unread, _, _ = pages(user + "/mailFolders/inbox/messages",
                             {"$filter": "isRead eq false", "$select": "subject", "$count": "true"})
        return {"subjects": [m["subject"] for m in items], "pages": n, "ids": [m["id"] for m in items],
                "unread": [m["subject"] for m in unread]}

    delta = {}

    def delta_round():
        items, n, last = pages(user + "/mailFolders/inbox/messages/delta", {"$select": "subject"},
                               headers={"Prefer": "odata.maxpagesize=4"})
        delta["link"] = last["@odata.deltaLink"]
        return {"ids": [m["id"] for m in items], "pages": n}

    created = {}

    def create():
        body = {
            "subject": "Created by MSAL smoke",
            "body": {"contentType": "text", "content": "Hello from Python."},
            "from": {"emailAddress": {"address": "dave@fabrikam.example"}},
            "toRecipients": [{"emailAddress": {"address": cfg["mailbox"]}}],
            "singleValueExtendedProperties": [
                {"id": "Integer 0x0E07", "value": "1"},
                {"id": "SystemTime 0x0E06", "value": "2024-05-01T10:00:00Z"},
                {"id": SOURCE_PROP, "value": "smoke-1"},
            ],
            "multiValueExtendedProperties": [{"id": TAGS_PROP, "value": ["migration", "wave 1"]}],
        }
        m = checked(api.post(user + "/mailFolders/inbox/messages", json=body)).json()
        created["id"] = m["id"]
        # Read both kinds of extended property back by id.
        got = checked(api.get(user + "/messages/" + urllib.parse.quote(m["id"], safe=""), params={
            "$select": "subject,isDraft,isRead,receivedDateTime",
            "$expand": "singleValueExtendedProperties($filter=id eq '%s'),multiValueExtendedProperties($filter=id eq '%s')"
                       % (SOURCE_PROP, TAGS_PROP),
        })).json()
        found = checked(api.get(user + "/mailFolders/inbox/messages", params={
            "$filter": "singleValueExtendedProperties/any(ep: ep/id eq '%s' and ep/value eq 'smoke-1')" % SOURCE_PROP,
            "$select": "id"})).json()["value"]
        return {
            "id": m["id"], "isDraft": got["isDraft"], "isRead": got["isRead"], "received": got["receivedDateTime"],
            "single": {p["id"]: p["value"] for p in got.get("singleValueExtendedProperties", [])},
            "multi": {p["id"]: p["value"] for p in got.get("multiValueExtendedProperties", [])},
            "found": [x["id"] for x in found],
        }

    def upload():
        size = cfg["upload_size"]
        data = bytes((i * 7 + 3) % 251 for i in range(size))
        sess = checked(api.post(user + "/messages/" + urllib.parse.quote(created["id"], safe="") + "/attachments/createUploadSession",
                                json={"AttachmentItem": {"attachmentType": "file", "name": "scan.bin", "size": size}})).json()
        url = sess["uploadUrl"]
        plain = requests.Session()  # the upload URL is pre-authenticated: no Graph token
        # Outlook refuses a Graph token on its upload host.
        with_token = plain.put(url, data=data[:CHUNK], headers={
            "Authorization": "Bearer " + token["value"], "Content-Range": "bytes 0-%d/%d" % (CHUNK - 1, size)})
        statuses = []
        last = None
        for start in range(0, size, CHUNK):
            chunk = data[start:start + CHUNK]
            last = plain.put(url, data=chunk, headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": "bytes %d-%d/%d" % (start, start + len(chunk) - 1, size)})
            statuses.append(last.status_code)
            checked(last)
        atts = checked(api.get(user + "/messages/" + urllib.parse.quote(created["id"], safe="") + "/attachments",
                               params={"$select": "name,size"})).json()["value"]
        return {
            "sha256": hashlib.sha256(data).hexdigest(), "size": size, "statuses": statuses,
            "location": last.headers.get("Location", ""), "upload_host": urllib.parse.urlsplit(url).hostname,
            "graph_host": urllib.parse.urlsplit(graph).hostname,
            "with_token": {"status": with_token.status_code, "code": with_token.json().get("error", {}).get("code")},
            "attachments": [{"name": a["name"], "size": a["size"]} for a in atts],
        }

    def delta_again():
        items, n, _ = pages(delta["link"], headers={"Prefer": "odata.maxpagesize=4"})
        return {"ids": [m["id"] for m in items], "removed": [m["id"] for m in items if "@removed" in m]}

    step("folders", folders)
    step("messages", messages)
    step("delta", delta_round)
    if step("create", create)["ok"]:
        step("upload", upload)
    if "link" in delta:
        step("delta_again", delta_again)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
