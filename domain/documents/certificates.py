"""The programme's certificates: a root CA, the sealing certificate it issues, and, for
development and tests, a time-stamping authority.

Production configures its own by path (SIGNING_KEY_PATH, SIGNING_CERT_PATH, SIGNING_CA_PATH,
TSA_URL, TSA_CA_PATH) and nothing is generated. Without them, the first run generates the
keys into DATA_DIR/signing/ and a certomancer configuration (certomancer.yml) that issues
the certificates from those keys: the sealing certificate names the CRL and OCSP URLs of the
programme CA, and `partner-platform trust-services` serves that CRL, OCSP and an RFC 3161
TSA from the same file on TRUST_SERVICES_PORT. The CA keys are RSA, so that a certificate
issued twice from the file (here, and in the trust services' process) is the same bytes;
the seal's key is RSA too, so that the sealed document stays PDF 1.7 (PDF/A-2b); the TSA's
is ECDSA, which no document declares."""

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml
from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from domain import clock
from domain.settings import Settings

ARCH = "programme"
CONFIG = "certomancer.yml"
TSA_ROOT = "tsa-root.pem"
KEYS = {  # certomancer key label -> file
    "root": "programme-root-key.pem",
    "seal": "programme-key.pem",
    "tsa-root": "tsa-root-key.pem",
    "tsa": "tsa-key.pem",
}


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _ca(label: str, until: datetime, since: datetime) -> dict:
    return {
        "subject": label, "subject-key": label, "issuer": label, "authority-key": label,
        "validity": {"valid-from": _when(since), "valid-to": _when(until)},
        "extensions": [
            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
            {"id": "key_usage", "critical": True,
             "smart-value": {"schema": "key-usage", "params": ["digital_signature", "key_cert_sign", "crl_sign"]}},
        ],
    }


def _issued(label: str, issuer: str, until: datetime, since: datetime, usage: list[str], *extensions: dict) -> dict:
    """The certificate of `label`'s key, issued by the CA `issuer`, for the key usages given."""
    return {
        "subject": label, "subject-key": label, "issuer": issuer, "authority-key": issuer,
        "validity": {"valid-from": _when(since), "valid-to": _when(until)},
        "extensions": [
            {"id": "key_usage", "critical": True, "smart-value": {"schema": "key-usage", "params": usage}},
            *extensions,
        ],
    }


# The development PKI is valid from 2000 to 2100, and its CRLs are issued every ten years
# (certomancer computes each from the CA's start): the tests travel in time (time-machine)
# and seal contracts years before or after today, and the validator judges certificates
# and CRLs by that clock. A real PKI's CRLs last days.
DEV_FROM = datetime(2000, 1, 1, tzinfo=UTC)
DEV_TO = datetime(2100, 1, 1, tzinfo=UTC)
CRL_EVERY = "P3650D"


def certomancer_config(settings: Settings, now: datetime) -> dict:
    """The development PKI: the programme's root and seal, a TSA root and its TSA."""
    since, ten_years = DEV_FROM, DEV_TO
    revocation_urls = [
        {"id": "crl_distribution_points",
         "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
        {"id": "authority_information_access",
         "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}}},
    ]
    return {
        "external-url-prefix": f"http://127.0.0.1:{settings.trust_services_port}",
        "keysets": {ARCH: {"path-prefix": ".", "keys": {label: {"path": file} for label, file in KEYS.items()}}},
        "pki-architectures": {ARCH: {
            "keyset": ARCH,
            "entity-defaults": {"country-name": "US", "organization-name": settings.programme_name},
            "entities": {
                "root": {"common-name": f"{settings.programme_name} Root CA"},
                "seal": {"common-name": "Programme contract seal"},
                "tsa-root": {"common-name": "Development Time-Stamping Root"},
                "tsa": {"common-name": "Development Time-Stamping Authority"},
            },
            "certs": {
                "root": _ca("root", ten_years, since),
                "seal": _issued("seal", "root", ten_years, since, ["digital_signature", "non_repudiation"],
                                *revocation_urls),
                "tsa-root": _ca("tsa-root", ten_years, since),
                "tsa": _issued(
                    "tsa", "tsa-root", ten_years, since, ["digital_signature"],
                    {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                    {"id": "crl_distribution_points",
                     "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["tsa-root"]}}},
                ),
            },
            "services": {
                "crl-repo": {
                    "root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": CRL_EVERY},
                    "tsa-root": {"for-issuer": "tsa-root", "signing-key": "tsa-root", "simulated-update-schedule": CRL_EVERY},
                },
                "ocsp": {"root": {"for-issuer": "root", "responder-cert": "root", "signing-key": "root"}},
                "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
            },
        }},
    }


def load_pki(settings: Settings):
    """The development PKI as certomancer reads it from DATA_DIR/signing/certomancer.yml."""
    from certomancer.registry import CertomancerConfig

    return CertomancerConfig.from_file(str(settings.signing_dir / CONFIG)).get_pki_arch(ARCH)


def _write_certificates(settings: Settings, target: Path) -> None:
    from certomancer.registry import CertomancerConfig

    arch = CertomancerConfig.from_file(str(target / CONFIG)).get_pki_arch(ARCH)
    for label, path in (("seal", settings.cert_path), ("root", settings.ca_path), ("tsa-root", settings.tsa_root_path)):
        (target / path.name).write_bytes(pem.armor("CERTIFICATE", arch.get_cert(label).dump()))


def uses_development_pki(settings: Settings) -> bool:
    return not (settings.signing_key_path or settings.signing_cert_path or settings.signing_ca_path)


def ensure_programme_certificate(settings: Settings) -> None:
    """On first run, generate the development PKI into the data directory. Production
    configures its own by path, and nothing is generated."""
    key_path, cert_path, ca_path = settings.key_path, settings.cert_path, settings.ca_path
    target = settings.signing_dir
    if not uses_development_pki(settings):
        if not (key_path.exists() and cert_path.exists() and ca_path.exists()):
            raise FileNotFoundError(f"signing key or certificate missing: {key_path}, {cert_path}, {ca_path}")
        return
    if (target / CONFIG).exists():
        return
    if target.exists():  # a development PKI from before the trust services: keep it aside
        os.rename(target, target.with_name(f"signing.before-b-lt-{int(clock.now().timestamp())}"))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=target.parent))
    keys = {
        "root": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "tsa-root": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        # RSA, not ECDSA: pyHanko marks a document sealed with an ECDSA key as PDF 2.0
        # (the ISO 32002 extension), which PDF/A-2b, based on PDF 1.7, does not allow.
        "seal": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "tsa": ec.generate_private_key(ec.SECP256R1()),  # signs every timestamp: the fast key
    }
    for label, key in keys.items():
        (tmp / KEYS[label]).write_bytes(_pem(key))
        os.chmod(tmp / KEYS[label], 0o600)
    (tmp / CONFIG).write_text(yaml.safe_dump(certomancer_config(settings, clock.now()), sort_keys=False))
    _write_certificates(settings, tmp)
    try:
        os.rename(tmp, target)  # atomic; another process may have won the race
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (key_path.exists() and cert_path.exists() and ca_path.exists()):
            raise


def revoke_seal_certificate(settings: Settings, since: datetime, reason: str = "key_compromise") -> None:
    """Development and tests: the programme CA revokes the sealing certificate as of
    `since`. The trust services read it when started again."""
    path = settings.signing_dir / CONFIG
    config = yaml.safe_load(path.read_text())
    config["pki-architectures"][ARCH]["certs"]["seal"]["revocation"] = {
        "revoked-since": _when(since), "reason": reason,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
