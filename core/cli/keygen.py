"""write a CURVE certificate pair (public and secret files)

edgezmq keygen [NAME] [--dir DIR] [--meta KEY=VALUE ...] [--force]
writes DIR/NAME.key (public, mode 0644) and DIR/NAME.key_secret (secret,
mode 0600) in the zmq.auth certificate format, and prints the public key.
"""
from __future__ import annotations

import argparse
import os  # port-ok: CPython-only front end
import sys


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgezmq keygen", description=__doc__.split("\n")[0])
    ap.add_argument("name", nargs="?", default="client", help="file name stem (default: client)")
    ap.add_argument("--dir", default=".", help="directory for the files (created 0700 if missing)")
    ap.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                    help="metadata line for the secret certificate")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    from edgezmq.auth.certs import create_certificates, load_certificate

    meta = {}
    for m in args.meta:
        if "=" not in m:
            ap.error("--meta takes KEY=VALUE")
        k, v = m.split("=", 1)
        meta[k.strip()] = v.strip()
    if not os.path.isdir(args.dir):
        os.makedirs(args.dir, mode=0o700)
    base = os.path.join(args.dir, args.name)
    if not args.force and (os.path.exists(base + ".key") or os.path.exists(base + ".key_secret")):
        print("edgezmq keygen: %s.key or .key_secret exists (--force to overwrite)" % base, file=sys.stderr)
        return 1
    public_file, secret_file = create_certificates(args.dir, args.name, meta or None)
    public, _ = load_certificate(public_file)
    print("public key %s" % public.decode())
    print("wrote %s (public) and %s (secret, mode 0600)" % (public_file, secret_file))
    return 0
