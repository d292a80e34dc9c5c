"""The programme's certificates: a CA and the sealing certificate it issues."""

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from domain import clock
from domain.settings import Settings


def ensure_programme_certificate(settings: Settings) -> None:
    """On first run, generate a programme CA and a sealing certificate into the data
    directory. Production configures its own by path, and nothing is generated."""
    key_path, cert_path, ca_path = settings.key_path, settings.cert_path, settings.ca_path
    if key_path.exists() and cert_path.exists() and ca_path.exists():
        return
    if settings.signing_key_path or settings.signing_cert_path or settings.signing_ca_path:
        raise FileNotFoundError(f"signing key or certificate missing: {key_path}, {cert_path}, {ca_path}")
    target = key_path.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=target.parent))
    now = clock.now()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cloud Reseller Programme Root CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cloud Reseller Programme"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Programme contract seal"),
        ]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp / key_path.name).write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(tmp / key_path.name, 0o600)
    (tmp / cert_path.name).write_bytes(cert.public_bytes(pem))
    (tmp / ca_path.name).write_bytes(ca_cert.public_bytes(pem))
    try:
        os.rename(tmp, target)  # atomic; another process may have won the race
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (key_path.exists() and cert_path.exists() and ca_path.exists()):
            raise
