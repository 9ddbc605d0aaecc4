#!/usr/bin/python3
"""Read every message of a folder in MIME with exchangelib, as a migration
tool built on it would, and print how long it took.

Usage: exchangelib_read.py URL CA_BUNDLE MAILBOX USERNAME CONNECTIONS
The password is read from the environment variable EXM_EWS_PASSWORD.

The peer of exmigrate's BenchmarkReadVsExchangelib: the item ids are
listed (FindItem pages), then fetched with their MIME content through
Account.fetch, which sends GetItem in chunks of 100 ids over CONNECTIONS
connections. TLS is verified with the CA bundle; Autodiscover is off.
Prints one JSON line: {"items": N, "bytes": B, "seconds": S}.
"""

import json
import os
import sys
import time

import requests.adapters
from exchangelib import IMPERSONATION, NTLM, Account, Build, Configuration, Credentials, FaultTolerance, Version
from exchangelib.protocol import BaseProtocol


def ca_adapter(bundle):
    class CAAdapter(requests.adapters.HTTPAdapter):
        def cert_verify(self, conn, url, verify, cert):
            super().cert_verify(conn=conn, url=url, verify=bundle, cert=cert)

    return CAAdapter


def main():
    url, bundle, mailbox, username, connections = sys.argv[1:6]
    BaseProtocol.HTTP_ADAPTER_CLS = ca_adapter(bundle)
    config = Configuration(
        service_endpoint=url,
        credentials=Credentials(username, os.environ["EXM_EWS_PASSWORD"]),
        auth_type=NTLM,
        version=Version(build=Build(15, 1, 2507, 6)),
        retry_policy=FaultTolerance(max_wait=60),
        max_connections=int(connections),
    )
    account = Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)
    t0 = time.monotonic()
    ids = list(account.inbox.all().only("id", "changekey"))
    n, size = 0, 0
    for item in account.fetch(ids=ids, only_fields=["mime_content"]):
        n += 1
        size += len(item.mime_content or b"")
    print(json.dumps({"items": n, "bytes": size, "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    main()
