"""python -m edgezmq: the command line is the CPython-only package edgezmq.cli."""
import sys


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
