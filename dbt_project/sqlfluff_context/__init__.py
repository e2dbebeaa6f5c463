"""The dbt context for sqlfluff's jinja templater: lint the models as dbt renders them, without a database.

Why not the dbt templater: it compiles through dbt, and dbt asks the warehouse whether an incremental model
exists (``is_incremental()`` in int_persons_versioned), so linting would need a running stack. sqlfluff's
own dbt builtins (``apply_dbt_builtins``) are too thin for this project: ``var()`` returns the string
"item" (the population models loop over the tie-break table in dbt_project.yml), there is no ``return()``
(macros/population_merge.sql returns dicts and lists), and macros loaded with ``load_macros_from_path``
cannot call macros of files loaded after theirs.

So this package (``library_path`` in .sqlfluff; sqlfluff puts every public name of it in the Jinja context)
renders like ``dbt compile`` does for a full build: every macro in macros/ in one namespace, with ``return()``,
``var()`` read from dbt_project.yml (``logical_date`` set to LINT_LOGICAL_DATE, ``run_started_at`` its
midnight UTC), ``execute`` false and
``is_incremental()`` false (sqlfluff still lints the incremental branch of a model as an "unreached code"
variant). Relations render as ``<schema>.<name>``. Only the literal SQL of a model is linted; what a macro
renders is templated code, which sqlfluff does not judge.
"""

from __future__ import annotations

import datetime as _datetime
import itertools as _itertools
import os as _os
import re as _re
from pathlib import Path as _Path
from types import SimpleNamespace as _Namespace
from typing import Any as _Any

import jinja2 as _jinja2
import jinja2.nodes as _nodes
import jinja2.sandbox as _sandbox
import yaml as _yaml

_PROJECT_DIR = _Path(__file__).resolve().parent.parent
LINT_LOGICAL_DATE = "2024-06-30"
_NO_DEFAULT = object()


class _MacroReturn(Exception):  # noqa: N818 - dbt's name for the same control flow
    """Raised by ``return(value)`` inside a macro; the macro's wrapper turns it into the call's result."""

    def __init__(self, value: _Any) -> None:
        super().__init__()
        self.value = value


class _Relation:
    """A relation as a model's SQL sees it (``{{ ref('x') }}`` -> ``audit.x``)."""

    def __init__(self, schema: str, identifier: str) -> None:
        self.database = "govlake"
        self.schema = schema
        self.identifier = identifier
        self.name = identifier
        self.table = identifier

    def __str__(self) -> str:
        return f"{self.schema}.{self.identifier}"


class _CompilerError(Exception):
    """``exceptions.raise_compiler_error`` while linting: the model would not compile either."""


def _raise_compiler_error(message: str) -> None:
    raise _CompilerError(message)


def _project_vars() -> dict[str, _Any]:
    project = _yaml.safe_load((_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    values = dict(project.get("vars") or {})
    values["logical_date"] = LINT_LOGICAL_DATE
    return values


_VARS = _project_vars()


def var(name: str, default: _Any = _NO_DEFAULT) -> _Any:
    """dbt's ``var()``: the project's vars (dbt_project.yml), a placeholder logical date."""
    if name in _VARS and _VARS[name] is not None:
        return _VARS[name]
    if default is _NO_DEFAULT:
        raise _CompilerError(f"var '{name}' is not set in dbt_project.yml and has no default")
    return default


def ref(*args: str, **_kwargs: _Any) -> _Relation:
    return _Relation("audit", args[-1])


def source(source_name: str, table_name: str) -> _Relation:
    return _Relation(source_name, table_name)


def config(*_args: _Any, **_kwargs: _Any) -> str:
    return ""


def is_incremental() -> bool:
    return False


def env_var(name: str, default: str | None = None) -> str:
    value = _os.environ.get(name, default)
    if value is None:
        raise _CompilerError(f"env var '{name}' is not set")
    return value


def run_query(_sql: str) -> None:
    return None


def log(_message: str, info: bool = False) -> str:
    return ""


execute = False
run_started_at = _datetime.datetime(2024, 6, 30, tzinfo=_datetime.timezone.utc)
this = _Relation("audit", "this_model")
target = _Namespace(name="local", schema="staging", database="govlake", type="postgres", threads=2)
flags = _Namespace(WHICH="compile", FULL_REFRESH=False)
modules = _Namespace(re=_re, datetime=_datetime, itertools=_itertools)
exceptions = _Namespace(raise_compiler_error=_raise_compiler_error, warn=lambda _message: "")


def _return(value: _Any) -> None:
    raise _MacroReturn(value)


class _Macro:
    """A project macro, callable from a model; ``return(value)`` inside it makes ``value`` the result."""

    unsafe_callable = False
    alters_data = False

    def __init__(self, macro: _jinja2.runtime.Macro) -> None:
        self._macro = macro

    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        try:
            return self._macro(*args, **kwargs)
        except _MacroReturn as returned:
            return returned.value


def _load_macros() -> dict[str, _Macro]:
    """Every macro of macros/*.sql in one shared namespace, as dbt loads them: each macro compiled on its
    own, so a call to another macro (in any file, this one included) goes through that macro's wrapper
    and gets its ``return()`` value."""
    namespace: dict[str, _Any] = {
        "var": var,
        "ref": ref,
        "source": source,
        "config": config,
        "is_incremental": is_incremental,
        "env_var": env_var,
        "run_query": run_query,
        "log": log,
        "execute": execute,
        "run_started_at": run_started_at,
        "this": this,
        "target": target,
        "flags": flags,
        "modules": modules,
        "exceptions": exceptions,
        "return": _return,
    }
    env = _sandbox.SandboxedEnvironment(extensions=["jinja2.ext.do"], undefined=_jinja2.StrictUndefined)
    macros: dict[str, _Macro] = {}
    for path in sorted((_PROJECT_DIR / "macros").glob("*.sql")):
        tree = env.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.find_all(_nodes.Macro):
            code = env.compile(_nodes.Template([node], lineno=1), filename=str(path))
            template = env.template_class.from_code(env, code, env.make_globals(None))
            # shared=True: names are looked up in `namespace` when the macro runs, not in a copy taken now.
            module = template.make_module(vars=namespace, shared=True)
            macros[node.name] = _Macro(getattr(module, node.name))
    namespace.update(macros)
    return macros


globals().update(_load_macros())
