"""``govlake lineage``: upstream, downstream and impact of a relation, column or node; collection.

Prints one ``<relation>.<column>`` (or node) per line, so scripts can pipe it; ``--json`` for the detail.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

lineage_app = typer.Typer(
    help="血缘: where a relation or column comes from and what uses it.", no_args_is_help=True
)


def _graph():
    from govlake.lineage.graph import load_graph
    from govlake.warehouse import connect

    with connect(autocommit=True) as conn:
        return load_graph(conn)


def _print_trace(node: str, direction: str, depth: int | None, as_json: bool) -> None:
    from govlake.lineage.queries import trace

    try:
        result = trace(_graph(), node, direction, depth)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for hop in result["nodes"]:
        typer.echo(hop["id"])


@lineage_app.command("upstream")
def upstream(
    node: str = typer.Argument(..., help="<relation>[.<column>], e.g. base.population.gender, or a node id"),
    depth: int = typer.Option(None, "--depth", min=1, help="Stop after N hops (default: to the sources)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with depth, edge kind and labels."),
) -> None:
    """Everything NODE comes from, nearest first."""
    _print_trace(node, "upstream", depth, as_json)


@lineage_app.command("downstream")
def downstream(
    node: str = typer.Argument(..., help="<relation>[.<column>], a dataset key or department:<code>"),
    depth: int = typer.Option(None, "--depth", min=1, help="Stop after N hops (default: to the end)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with depth, edge kind and labels."),
) -> None:
    """Everything made from NODE or fed by it, nearest first."""
    _print_trace(node, "downstream", depth, as_json)


@lineage_app.command("impact")
def impact(
    node: str = typer.Argument(..., help="A dataset, relation, column or department"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """If NODE is late or wrong today: the libraries, exchange views, exports, open releases, apps,
    consumer departments and cockpit numbers affected."""
    from govlake.lineage.queries import impact as impact_of

    try:
        result = impact_of(_graph(), node)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for group, items in result["affected"].items():
        for item in items:
            typer.echo(f"{group}\t{item['id']}")


@lineage_app.command("collect")
def collect(
    manifest: str = typer.Option(None, help="dbt manifest.json (default: dbt_project/target/manifest.json)"),
    day: str = typer.Option(None, "--date", help="The cycle's logical date (run facet nominalTime)."),
    http: bool = typer.Option(
        False, "--http", help="Send over OpenLineage's HTTP transport to the web service."
    ),
) -> None:
    """Derive OpenLineage events from the registry and the dbt manifest and store (or send) them."""
    from govlake.lineage.collection import MANIFEST
    from govlake.lineage.collection import collect as run

    result = run(Path(manifest) if manifest else MANIFEST, day, via_http=http)
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))


@lineage_app.command("rebuild")
def rebuild() -> None:
    """Derive the lineage edges again from every stored OpenLineage event (after an upgrade)."""
    from govlake.lineage.event_store import rebuild_graph
    from govlake.warehouse import connect

    with connect(autocommit=True) as conn:
        replayed = rebuild_graph(conn)
    typer.echo(f"{replayed} events replayed")


@lineage_app.command("token")
def token() -> None:
    """The bearer token emitters send to POST /api/v1/lineage."""
    from govlake.lineage.event_store import ingest_token
    from govlake.settings import get_settings

    typer.echo(ingest_token(get_settings()))
