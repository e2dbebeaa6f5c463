"""``govlake demo`` chains other commands from Python: each must get real values, never a typer default
object (a plain call of a typer command passes its ``OptionInfo`` defaults on as values)."""

from __future__ import annotations

import pytest
import typer
from typer.models import ParameterInfo

from demo_province import commands
from govlake import cli
from govlake.cli import call_command


def _recorder(name: str, calls: list, parameters: tuple[str, ...]):
    def record(**kwargs):
        assert set(kwargs) == set(parameters), (name, kwargs)
        assert not any(isinstance(v, ParameterInfo) for v in kwargs.values()), (name, kwargs)
        calls.append((name, kwargs))

    return record


def test_demo_passes_real_values_to_every_command(monkeypatch) -> None:
    import inspect

    from govlake.cli import stack_commands, user_commands

    calls: list = []
    for module, name in ((stack_commands, "up"), (cli, "cycle_run"), (commands, "generate_command")):
        real = getattr(module, name)
        params = tuple(inspect.signature(real).parameters)
        fake = _recorder(name, calls, params)
        fake.__signature__ = inspect.signature(real)  # call_command reads the defaults from it
        fake.__name__ = name
        monkeypatch.setattr(module, name, fake)
    monkeypatch.setattr(user_commands, "create_demo_people", lambda: [])
    monkeypatch.setattr(user_commands, "print_demo_people", lambda people: calls.append(("people", people)))
    monkeypatch.setattr(commands, "share_demo_data", lambda day: calls.append(("share", day)))
    commands.demo(scale="tiny", seed=7)
    names = [c[0] for c in calls]
    assert names == ["up", "generate_command", "cycle_run", "share", "people"]
    up, generate, cycle = (c[1] for c in calls[:3])
    assert up["timeout"] == 300 and up["executor"] is None and up["s3"] is None
    assert generate["scale"] == "tiny" and generate["seed"] == 7 and generate["date"] == cycle["day"]
    assert cycle["timeout"] == 3600
    assert calls[3][1] == cycle["day"]  # the demo's requests start on the cycle's day


def test_call_command_fills_defaults_and_refuses_unknown_names() -> None:
    def command(a: int = typer.Option(3), b: str | None = typer.Option(None), c: int = 5):
        return a, b, c

    assert call_command(command) == (3, None, 5)
    assert call_command(command, b="x") == (3, "x", 5)
    with pytest.raises(TypeError, match="no parameter d"):
        call_command(command, d=1)
