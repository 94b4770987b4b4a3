"""python -m edgezmq.curve_keygen: print a CURVE keypair as pyzmq's
zmq.curve_keygen does (Z85). --json prints {"public", "secret"};
--secret SECRET derives the public key of an existing secret key."""
import sys


def main(argv=None):
    import edgezmq

    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    if as_json:
        args.remove("--json")
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(args) == 2 and args[0] == "--secret":
        secret = args[1]
        public = edgezmq.curve_public(secret.encode()).decode()
    elif not args:
        pk, sk = edgezmq.curve_keypair()
        public, secret = pk.decode(), sk.decode()
    else:
        print("usage: python -m edgezmq.curve_keygen [--json] [--secret SECRET]")
        return 2
    if as_json:
        import json

        sys.stdout.write(json.dumps({"public": public, "secret": secret}, indent=1, sort_keys=True) + "\n")
    else:
        print("== CURVE PUBLIC KEY ==")
        print(public)
        print()
        print("== CURVE SECRET KEY ==")
        print(secret)
    return 0


if __name__ == "__main__":
    sys.exit(main())
