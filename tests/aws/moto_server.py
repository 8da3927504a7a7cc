#!/usr/bin/env python3
"""Local AWS stand-in for Wharf's tests: moto's server on loopback only.

Usage (inside the venv built from tests/aws/requirements.txt):

    python tests/aws/moto_server.py --port 5123 [--quiet]

Binds 127.0.0.1 only. Once it accepts connections it prints exactly one line
on stdout,

    MOTO_READY http://127.0.0.1:5123

then serves Glue, Lake Formation, DynamoDB, STS (and every other moto
service) on that one endpoint until SIGTERM or SIGINT, and exits 0.
--port 0 picks a free port; the ready line carries the real one.
Request logs go to stderr (--quiet drops them). Point SDKs at the URL
with region us-east-1 and any credentials (e.g. testing/testing);
state lives in memory and is wiped by `POST <url>/moto-api/reset`.

Before serving, Lake Formation's permission store is patched (see
_patch_lakeformation_permission_catalog); MOTO_NO_LF_PATCH=1 skips the patch,
only to reproduce the upstream bug.
"""

import argparse
import os
import signal
import socket
import sys
import threading

HOST = "127.0.0.1"


def _patch_lakeformation_permission_catalog() -> None:
    # moto 5.2.5 keeps Lake Formation grants in a set of mutable Permission
    # objects hashed by content. A second grant for the same principal+resource
    # merges into the stored object (via set(), so even an identical re-grant
    # may reorder its list) and changes its hash, so a later revoke can't find
    # it in the set: KeyError -> HTTP 500, always after a widening grant,
    # depending on the hash seed after an identical one. A list has no hashes
    # to go stale. Merge/diff are done here, order-preserving, rather than
    # with Permission.merge/diff, which go through set() and would make
    # list_permissions' order vary with Python's hash seed.
    from moto.lakeformation import models as lf

    catalog = lf.PermissionCatalog  # fail loudly if moto's layout moved
    fields = ("permissions", "permissions_with_grant_options")

    def __init__(self) -> None:
        self.permissions = []

    def add_permission(self, permission) -> None:
        for existing in self.permissions:
            # only one entry per principal+resource, as upstream
            if permission.equal_principal_and_resouce(existing):
                for f in fields:
                    old = getattr(existing, f)
                    setattr(existing, f, old + [p for p in dict.fromkeys(getattr(permission, f)) if p not in old])
                return
        for f in fields:
            setattr(permission, f, list(dict.fromkeys(getattr(permission, f))))
        self.permissions.append(permission)

    def remove_permission(self, permission) -> None:
        for i, existing in enumerate(self.permissions):
            if permission.equal_principal_and_resouce(existing):
                for f in fields:
                    gone = getattr(permission, f)
                    setattr(existing, f, [p for p in getattr(existing, f) if p not in gone])
                if existing.is_empty():
                    del self.permissions[i]
                return

    catalog.__init__ = __init__
    catalog.add_permission = add_permission
    catalog.remove_permission = remove_permission


def main() -> int:
    parser = argparse.ArgumentParser(description="moto server on 127.0.0.1 for Wharf's tests")
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--quiet", action="store_true", help="drop per-request logs on stderr")
    args = parser.parse_args()

    if os.environ.get("MOTO_NO_LF_PATCH") == "1":
        print("moto_server.py: MOTO_NO_LF_PATCH=1, Lake Formation patch NOT applied", file=sys.stderr)
    else:
        _patch_lakeformation_permission_catalog()

    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    # Same app and handler as moto's ThreadedMotoServer, but bound here in the
    # main thread: ThreadedMotoServer waits forever if its thread's bind fails
    # (port taken), where we want a prompt non-zero exit.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    try:
        server = make_server(
            HOST,
            args.port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except OSError as e:
        print(f"moto_server.py: cannot listen on {HOST}:{args.port}: {e}", file=sys.stderr)
        return 1
    except SystemExit:  # werkzeug's EADDRINUSE path: it has printed why
        print(f"moto_server.py: cannot listen on {HOST}:{args.port}", file=sys.stderr)
        return 1
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    # The socket listens once make_server returns; connect anyway so the
    # ready line is a promise that a client can get in.
    with socket.create_connection((host, port), timeout=5):
        pass
    print(f"MOTO_READY http://{host}:{port}", flush=True)
    # Callers may stop reading stdout (or close it) once they have the ready
    # line; a later stray print from moto would then hit a broken pipe inside
    # a request. Send anything after it to stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    while not stop.wait(3600):
        pass
    server.shutdown()
    thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
