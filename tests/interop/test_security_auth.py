"""edgezmq.auth against libzmq: address allow and deny lists, certificates and
the key tools (keygen CLI, load_certificate, curve_keygen)."""
import errno
import os
import subprocess
import sys

import pytest
from edgezmq import ZMQError
from edgezmq.auth import ThreadAuthenticator
from security_kit import Local, Remote, ctx_fixture, peer_fixture, sec_opts  # noqa: F401 (fixtures: ctx, peer)

pytest.importorskip("zmq")


# --- edgezmq.auth policy, certificates and key tools ---------------------------------


def test_auth_allow_and_deny_addresses(ctx, peer):
    """allow() admits listed IPs only; deny() refuses listed IPs; PLAIN must
    still authenticate (the password is right in every case here)."""
    for policy, delivered in (("allow-other", False), ("allow-local", True), ("deny-local", False)):
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if policy == "allow-other":
            auth.allow("10.9.9.9")
        elif policy == "allow-local":
            auth.allow("127.0.0.1")
        else:
            auth.deny("127.0.0.1")
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        try:
            pull = Local(ctx, "PULL", sec_opts("PLAIN", "server"))
            ep = pull.bind()
            push = Remote(peer, "PUSH", sec_opts("PLAIN", "client"))
            push.connect(ep)
            try:
                push.send([policy.encode()])
            except ZMQError as e:
                # libzmq drops the pipe of a connection refused by ZAP: a send
                # after the refusal finds no peer (EAGAIN at SNDTIMEO)
                if delivered or e.errno != errno.EAGAIN:
                    raise
            got = pull.recv(1500 if delivered else 600)
            assert (got == [policy.encode()]) if delivered else got is None, policy
            assert auth.requests >= 1
            push.close()
            pull.close()
        finally:
            auth.stop()


def test_keygen_cli_certificates_load_in_pyzmq(tmp_path):
    import stat

    import zmq.auth

    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k"),
                        "--meta", "name=dev1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pub, sec = tmp_path / "k" / "dev1.key", tmp_path / "k" / "dev1.key_secret"
    assert stat.S_IMODE(os.stat(str(sec)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(pub)).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(str(tmp_path / "k")).st_mode) == 0o700  # made by keygen
    pk, sk = zmq.auth.load_certificate(str(sec))
    assert zmq.auth.load_certificate(str(pub)) == (pk, None)
    assert zmq.curve_public(sk) == pk
    assert pk.decode() in r.stdout
    assert zmq.auth.load_certificates(str(tmp_path / "k")) == {pk: True}
    # refuses to overwrite without --force
    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    # --force over a secret file someone made readable: rewritten, and 0600 again
    os.chmod(str(sec), 0o644)
    r = subprocess.run([sys.executable, "-m", "edgezmq", "keygen", "dev1", "--dir", str(tmp_path / "k"), "--force"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(str(sec)).st_mode) == 0o600
    pk, sk = zmq.auth.load_certificate(str(sec))  # the new pair
    # and pyzmq's certificates load here
    from edgezmq.auth import load_certificate, load_certificates

    p2, s2 = zmq.auth.create_certificates(str(tmp_path / "k"), "pz")
    assert load_certificate(s2) == zmq.auth.load_certificate(s2)
    assert set(load_certificates(str(tmp_path / "k"))) == {pk, zmq.auth.load_certificate(p2)[0]}


def test_load_certificate_rejects_bad_keys(tmp_path):
    from edgezmq.auth import load_certificate

    f = tmp_path / "bad.key"
    f.write_text('curve\n    public-key = "not-a-z85-key-of-40-characters-at-all!!"\n')
    with pytest.raises(ValueError):
        load_certificate(str(f))
    f.write_text("metadata\ncurve\n")
    with pytest.raises(ValueError):
        load_certificate(str(f))


def test_curve_keygen_module_matches_pyzmq_format():
    import zmq

    r = subprocess.run([sys.executable, "-m", "edgezmq.curve_keygen"], capture_output=True, text=True, timeout=30)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0] == "== CURVE PUBLIC KEY ==" and lines[3] == "== CURVE SECRET KEY =="
    assert zmq.curve_public(lines[4].encode()) == lines[1].encode()
    r = subprocess.run([sys.executable, "-m", "edgezmq.curve_keygen", "--json", "--secret", lines[4]],
                       capture_output=True, text=True, timeout=30)
    import json

    assert json.loads(r.stdout) == {"public": lines[1], "secret": lines[4]}
