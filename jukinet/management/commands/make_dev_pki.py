"""Development PKI for the mutual TLS between the prefecture and the national mock.

Creates under ``settings.PKI_DIR`` (``var/pki``; directory 0700, keys 0600):

* ``ca.crt`` / ``ca.key``: the development CA (5 years) that both sides trust;
* ``national.crt`` / ``.key``: the national mock's server certificate (serverAuth; SAN
  localhost, national, 127.0.0.1, ::1 and any ``--san``);
* ``prefecture-client.crt`` / ``.key``: the prefecture's client certificate (clientAuth,
  CN = PREFECTURE_CODE);
* ``untrusted-client.crt`` / ``.key`` (+ ``untrusted-ca.crt``): a client certificate from
  another, throwaway CA, for showing that the mock refuses it.

Idempotent: what exists is kept (missing certificates are issued by the existing CA);
``--force`` starts again from a new CA. Development only: a deployment gets its certificates
from the real issuer.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

CA_DAYS = 5 * 365
LEAF_DAYS = 825
ORGANISATION = "jukinet development"


def _name(common_name: str, organisation: str = ORGANISATION) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    common_name: str,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
    organisation: str = ORGANISATION,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(min(_now() + dt.timedelta(days=LEAF_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_pair(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None) -> None:
    _write(directory / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    if key is not None:
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write(directory / f"{stem}.key", pem, 0o600)


def _san(entry: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        return x509.DNSName(entry)


class Command(BaseCommand):
    help = "開発用の認証局と、模擬全国サーバ・県（クライアント）の証明書を作成する（既存のものは再利用）。"

    def add_arguments(self, parser):
        parser.add_argument("--dir", dest="directory", help="出力先（既定: settings.PKI_DIR = var/pki）")
        parser.add_argument("--force", action="store_true", help="既存の認証局・証明書を作り直す")
        parser.add_argument(
            "--san", action="append", default=[], help="サーバ証明書に加えるホスト名またはIPアドレス（複数可）"
        )

    def handle(self, *args, directory: str | None, force: bool, san: list[str], **options):
        directory = Path(directory or settings.PKI_DIR)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        ca_crt, ca_key_path = directory / "ca.crt", directory / "ca.key"
        fresh = force or not (ca_crt.exists() and ca_key_path.exists())
        if fresh:
            ca_cert, ca_key = make_ca("jukinet development CA")
            write_pair(directory, "ca", ca_cert, ca_key)
            self.stdout.write(f"開発用認証局を作成しました: {ca_crt}")
        else:
            try:
                ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
                ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
            except ValueError:
                raise CommandError(f"{directory} の認証局が読めません。--force で作り直してください。") from None
            if ca_cert.not_valid_after_utc < _now() + dt.timedelta(days=30):
                self.stderr.write("開発用認証局の有効期限が30日以内です。--force で作り直してください。")

        leaves = {
            "national": {
                "common_name": "national",
                "usage": ExtendedKeyUsageOID.SERVER_AUTH,
                "sans": [_san(s) for s in ("localhost", "national", "127.0.0.1", "::1", *san)],
            },
            "prefecture-client": {
                "common_name": settings.PREFECTURE_CODE,
                "organisation": settings.PREFECTURE_NAME,
                "usage": ExtendedKeyUsageOID.CLIENT_AUTH,
            },
        }
        for stem, spec in leaves.items():
            if not fresh and (directory / f"{stem}.crt").exists() and (directory / f"{stem}.key").exists():
                continue
            cert, key = make_leaf(ca_cert, ca_key, **spec)
            write_pair(directory, stem, cert, key)
            self.stdout.write(f"証明書を作成しました: {directory / stem}.crt")

        if fresh or not (directory / "untrusted-client.crt").exists():
            # Signed by a CA nobody trusts; its key is thrown away at once.
            other_cert, other_key = make_ca("untrusted throwaway CA")
            cert, key = make_leaf(
                other_cert,
                other_key,
                common_name=settings.PREFECTURE_CODE,
                organisation=settings.PREFECTURE_NAME,
                usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            )
            write_pair(directory, "untrusted-ca", other_cert, None)
            write_pair(directory, "untrusted-client", cert, key)
        self.stdout.write(f"開発用PKI: {directory}")
