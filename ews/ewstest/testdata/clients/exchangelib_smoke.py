#!/usr/bin/python3
"""Drive an EWS endpoint with exchangelib, unmodified, and print what it saw.

Usage: exchangelib_smoke.py URL CA_BUNDLE MAILBOX USERNAME MIME_FILE
The password is read from the environment variable EXM_EWS_PASSWORD, never
from the command line. MIME_FILE holds the message to create from MIME.

The script is the third-party client of ews/ewstest's exchangelib test: it
runs the operations a migration tool built on exchangelib would, each on
its own so that one failure does not hide the others, and prints one JSON
document with each operation's result ({"ok": false, "error": ...} when it
failed). The Go test compares the results with the fake's own state.

It never disables TLS verification: the CA bundle is given to requests
through a custom HTTP adapter, the way exchangelib's documentation shows
(BaseProtocol.HTTP_ADAPTER_CLS). Autodiscover is off, the endpoint fixed,
NTLM and the server version (Exchange 2016, build 15.1) given, so no
guessing request is sent.
"""

import hashlib
import json
import os
import sys
import traceback

import requests.adapters
from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    NTLM,
    Account,
    Build,
    Configuration,
    Credentials,
    FaultTolerance,
    HTMLBody,
    Mailbox,
    Message,
    Version,
)
from exchangelib.protocol import BaseProtocol

PAGE_SIZE = 7  # small, so that the inbox takes several FindItem pages
SYNC_CHUNK = 5  # MaxChangesReturned, so that the sync takes several calls


def ca_adapter(bundle):
    """An HTTPAdapter that verifies the server with the given CA bundle."""

    class CAAdapter(requests.adapters.HTTPAdapter):
        def cert_verify(self, conn, url, verify, cert):
            # verify is True unless a caller turned it off; keep it on and
            # point it at the lab's CA instead of the system store.
            super().cert_verify(conn=conn, url=url, verify=bundle, cert=cert)

    return CAAdapter


def sha(data):
    return hashlib.sha256(data).hexdigest()


def run(results, name, fn):
    try:
        out = fn()
        results[name] = {"ok": True, **(out or {})}
    except Exception as e:  # every failure is a result, not the end of the run
        results[name] = {
            "ok": False,
            "error": f"{type(e).__name__}: {e}",
            "trace": traceback.format_exc(limit=6),
        }


def addr(m):
    return m.email_address if m is not None else None


def main():
    url, bundle, mailbox, username, mime_file = sys.argv[1:6]
    password = os.environ["EXM_EWS_PASSWORD"]
    access = IMPERSONATION if os.environ.get("EXM_EWS_ACCESS", "impersonation") == "impersonation" else DELEGATE
    with open(mime_file, "rb") as f:
        mime = f.read()

    BaseProtocol.HTTP_ADAPTER_CLS = ca_adapter(bundle)
    config = Configuration(
        service_endpoint=url,
        credentials=Credentials(username, password),
        auth_type=NTLM,
        version=Version(build=Build(15, 1, 2507, 6)),
        # Fail instead of waiting minutes on a server that misbehaves.
        retry_policy=FaultTolerance(max_wait=20),
        max_connections=1,
    )
    account = Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=access)
    results = {}
    state = {}

    def folder_walk():
        folders = []
        for f in account.msg_folder_root.walk():
            folders.append(
                {
                    "path": f.absolute[len(account.msg_folder_root.absolute) + 1 :],
                    "class": f.folder_class,
                    "total_count": f.total_count,
                    "child_folder_count": f.child_folder_count,
                    "unread_count": f.unread_count,
                    "type": type(f).__name__,
                }
            )
        return {"folders": folders, "root_name": account.root.name}

    run(results, "folder_walk", folder_walk)

    def item_paging():
        qs = account.inbox.all().only("subject", "message_id", "is_read", "datetime_received", "size")
        qs.page_size = PAGE_SIZE
        items = []
        for it in qs:
            items.append(
                {
                    "id": it.id,
                    "subject": it.subject,
                    "message_id": it.message_id,
                    "is_read": it.is_read,
                    "received": it.datetime_received.isoformat() if it.datetime_received else None,
                    "size": it.size,
                }
            )
        state["ids"] = [(i["id"], None) for i in items]
        return {"items": items, "count": account.inbox.all().count()}

    run(results, "item_paging", item_paging)

    def item_details():
        # No only(): exchangelib asks GetItem for every field its item
        # models know (the FieldURI sweep a real client makes).
        items = []
        for it in account.inbox.all():
            row = {
                "class": type(it).__name__,
                "subject": it.subject,
                "item_class": it.item_class,
                "message_id": getattr(it, "message_id", None),
                "has_attachments": it.has_attachments,
                "attachments": [a.name for a in it.attachments or []],
                "size": it.size,
                "importance": it.importance,
                "categories": it.categories,
                "is_read": getattr(it, "is_read", None),
                "is_draft": it.is_draft,
                "sender": addr(getattr(it, "sender", None)),
                "from": addr(getattr(it, "author", None)),
                "to": [addr(m) for m in getattr(it, "to_recipients", None) or []],
                "cc": [addr(m) for m in getattr(it, "cc_recipients", None) or []],
                "display_to": it.display_to,
                "display_cc": it.display_cc,
                "received": it.datetime_received.isoformat() if it.datetime_received else None,
                "sent": it.datetime_sent.isoformat() if it.datetime_sent else None,
                "body_type": type(it.body).__name__ if it.body is not None else None,
                "body_len": len(it.body) if it.body is not None else 0,
                "last_modified": it.last_modified_time.isoformat() if it.last_modified_time else None,
            }
            items.append(row)
        return {"items": items}

    run(results, "item_details", item_details)

    def attachment_read():
        out = []
        for it in account.inbox.filter(subject="Scan 0042"):
            for a in it.attachments:
                out.append({"name": a.name, "content_type": a.content_type, "size": a.size, "sha256": sha(a.content)})
        return {"attachments": out}

    run(results, "attachment_read", attachment_read)

    def calendar_read():
        out = []
        for it in account.calendar.all().only("subject", "start", "end", "location", "uid"):
            out.append(
                {
                    "subject": it.subject,
                    "start": it.start.isoformat() if it.start else None,
                    "end": it.end.isoformat() if it.end else None,
                    "location": it.location,
                    "uid": it.uid,
                }
            )
        return {"items": out}

    run(results, "calendar_read", calendar_read)

    def mime_read():
        ids = state.get("ids")
        if ids is None:
            ids = [(it.id, it.changekey) for it in account.inbox.all().only("id")]
        out = []
        for it in account.fetch(ids=ids, only_fields=["mime_content", "subject"]):
            if isinstance(it, Exception):
                raise it
            out.append({"subject": it.subject, "sha256": sha(it.mime_content), "len": len(it.mime_content)})
        return {"items": out}

    run(results, "mime_read", mime_read)

    def sync_to_end():
        counts = {}
        subjects = []
        for change, it in account.inbox.sync_items(only_fields=["subject"], max_changes_returned=SYNC_CHUNK):
            counts[change] = counts.get(change, 0) + 1
            if change in ("create", "update"):
                subjects.append(it.subject)
        state["sync_state"] = account.inbox.item_sync_state
        return {"changes": counts, "subjects": subjects}

    run(results, "sync", sync_to_end)

    def create_from_properties():
        m = Message(
            account=account,
            folder=account.drafts,
            subject="Budget 2027 (exchangelib)",
            body=HTMLBody("<html><body><p>Figures attached later.</p></body></html>"),
            to_recipients=[Mailbox(email_address="bob@contoso.com", name="Bob")],
            cc_recipients=[Mailbox(email_address="carol@contoso.com")],
            categories=["Finance"],
            importance="High",
        )
        m.save()
        got = account.drafts.get(id=m.id)
        return {
            "id": m.id,
            "subject": got.subject,
            "to": [addr(x) for x in got.to_recipients or []],
            "cc": [addr(x) for x in got.cc_recipients or []],
            "body": str(got.body),
            "is_draft": got.is_draft,
            "importance": got.importance,
            "categories": got.categories,
        }

    run(results, "create_from_properties", create_from_properties)

    def create_from_mime():
        m = Message(account=account, folder=account.inbox, mime_content=mime, is_read=True)
        m.save()
        got = list(account.fetch(ids=[(m.id, m.changekey)], only_fields=["mime_content", "subject", "is_read"]))[0]
        if isinstance(got, Exception):
            raise got
        return {"id": m.id, "subject": got.subject, "is_read": got.is_read, "sha256": sha(got.mime_content)}

    run(results, "create_from_mime", create_from_mime)

    def sync_after_create():
        if "sync_state" not in state:
            raise RuntimeError("the first sync failed")
        counts = {}
        subjects = []
        for change, it in account.inbox.sync_items(
            sync_state=state["sync_state"], only_fields=["subject"], max_changes_returned=SYNC_CHUNK
        ):
            counts[change] = counts.get(change, 0) + 1
            if change in ("create", "update"):
                subjects.append(it.subject)
        return {"changes": counts, "subjects": subjects}

    run(results, "sync_after_create", sync_after_create)

    def send_refused():
        # The lab never sends mail: SendOnly must be refused, and nothing
        # may be delivered or saved.
        m = Message(
            account=account,
            folder=account.sent,
            subject="must not be sent",
            body="x",
            to_recipients=[Mailbox(email_address="bob@contoso.com")],
        )
        try:
            m.send()
        except Exception as e:
            return {"refused": True, "error": f"{type(e).__name__}: {e}"}
        return {"refused": False}

    run(results, "send_refused", send_refused)

    json.dump(results, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
