"""``govlake catalog``: sync, search, show, export the catalog; classify a dataset's columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from govlake.terminal import make_console

catalog_app = typer.Typer(
    help="政务信息资源目录: sync, search, show, export; classification suggestions.", no_args_is_help=True
)
console = make_console()


@catalog_app.command("sync")
def sync() -> None:
    """Build entries from the registry and the dbt manifest, store them, create missing exchange views."""
    from govlake.sharing.zone import sync_catalog_and_zone

    result = sync_catalog_and_zone()
    created, errors = result["views_created"], result["skipped"]
    console.print(
        f"catalogued {result['catalogued']} resource(s); exchange views created: {', '.join(created) or 'none'}"
    )
    for error in errors:
        console.print(f"[red]skipped:[/] {error}")
    if errors:
        raise typer.Exit(1)


def _table(entries) -> Table:
    table = Table(title_justify="left")
    for col in ("resource code", "name", "provider", "sharing", "open", "cycle", "key"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            e.resource_code, e.name, e.provider, e.sharing_type, e.open_type, e.update_cycle, e.entry_key
        )
    return table


@catalog_app.command("search")
def search(
    text: str = typer.Argument(None, help="substring, e.g. 人口"), kind: str = typer.Option(None)
) -> None:
    """Entries whose name, summary, provider, classification or items contain TEXT."""
    from govlake.catalog.store import list_entries
    from govlake.warehouse import connect

    with connect() as conn:
        entries = list_entries(conn, text, kind)
    console.print(_table(entries))
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


@catalog_app.command("show")
def show(resource: str = typer.Argument(..., help="resource code or key")) -> None:
    """One entry with its information items and their sharing types."""
    from govlake.catalog.model import CatalogError
    from govlake.catalog.store import get_entry
    from govlake.warehouse import connect

    try:
        with connect() as conn:
            e = get_entry(conn, resource)
    except CatalogError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    cls = " / ".join(f"{v['code']} {v['name']}" for v in e.classification.as_dict().values())
    console.print(
        f"[bold]{e.resource_code}[/] {e.name} — {e.provider} ({e.provider_code})\n{e.summary}\n"
        f"分类 {cls}\n格式 {e.format} · {e.sharing_type} ({e.sharing_method}) · {e.open_type} · "
        f"{e.update_cycle} · 发布 {e.publish_date} · 关联 {', '.join(e.related_codes) or '-'}"
    )
    if e.sharing_condition:
        console.print(f"共享条件: {e.sharing_condition}")
    table = Table()
    for col in ("item", "名称", "type", "grade", "pi", "sharing"):
        table.add_column(col)
    colour = {"无条件共享": "green", "有条件共享": "yellow", "不予共享": "red"}
    for i in e.items:
        table.add_row(
            i.name,
            i.label,
            i.data_type_label,
            i.grade,
            i.pi,
            f"[{colour[i.sharing_type]}]{i.sharing_type}[/]",
        )
    console.print(table)


@catalog_app.command("export")
def export(
    fmt: str = typer.Option("dcat", "--format", help="dcat (DCAT-AP 3 JSON-LD) | gb (national guide JSON)"),
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
) -> None:
    """The whole catalog as DCAT-AP 3 JSON-LD or GB-style JSON."""
    from govlake.catalog.export import dcat_catalog, gb_catalog
    from govlake.catalog.store import dumps, list_entries
    from govlake.settings import get_settings
    from govlake.warehouse import connect

    with connect() as conn:
        entries = list_entries(conn)
    doc = dcat_catalog(entries, f"{get_settings().web_url}/api/v1") if fmt == "dcat" else gb_catalog(entries)
    text = dumps(doc)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {len(entries)} entries to {out}")
    else:
        typer.echo(text)


@catalog_app.command("classify")
def classify(
    dataset: str = typer.Argument(..., help="registry dataset key, e.g. market_regulation__market_entities"),
    sample: int = typer.Option(1000, help="values sampled per column from its raw table"),
) -> None:
    """Suggested grade and personal-information flag per column next to the registry's confirmed values.

    The steward confirms a suggestion by editing the registry YAML (grade / pi of the column).
    """
    from govlake.catalog.classify import review_dataset
    from govlake.registry import get_dataset
    from govlake.warehouse import connect

    ds = get_dataset(dataset)
    with connect() as conn:
        reviews = review_dataset(conn, ds, sample)
    table = Table(title=f"{ds.department_name} {ds.name} — {ds.registry_file.name}", title_justify="left")
    for col in ("column", "名称", "registry grade/pi", "suggested", "evidence", ""):
        table.add_column(col, overflow="fold")
    for r in reviews:
        mark = "[green]✔[/]" if r.agrees else "[yellow]review[/]"
        table.add_row(
            r.column,
            r.label,
            f"{r.registry_grade} / {r.registry_pi}",
            f"{r.suggestion.grade} / {r.suggestion.pi}",
            r.suggestion.evidence,
            mark,
        )
    console.print(table)
    differing = sum(not r.agrees for r in reviews)
    console.print(
        f"{differing} of {len(reviews)} column(s) differ from the registry; confirm in {ds.registry_file}"
    )
