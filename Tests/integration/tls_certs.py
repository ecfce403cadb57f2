"""A private CA and a server certificate for localhost, made with the openssl CLI: what a
customer's TLS-intercepting proxy or relay presents."""
import ssl
import subprocess
from pathlib import Path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca_and_server(directory: Path, expired=False, other_host=False) -> tuple[Path, ssl.SSLContext]:
    """Returns the CA certificate (PEM) and a server context presenting a certificate it signed:
    for localhost, valid two days; or `expired` yesterday; or for `other_host`, not localhost."""
    name = "relay.example.net" if other_host else "localhost"
    d = directory
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Parley Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={name}", cwd=d)
    san = f"DNS:{name}" if other_host else "DNS:localhost,IP:127.0.0.1"
    (d / "server.ext").write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "-1" if expired else "2", "-extfile", "server.ext", cwd=d)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "server.pem", d / "server.key")
    return d / "ca.pem", context
