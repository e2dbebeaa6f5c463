"""One way to make the rich consoles of the CLI, so summaries stay readable when output is piped."""

from __future__ import annotations

from rich.console import Console

PIPED_WIDTH = 160


def make_console(stderr: bool = False) -> Console:
    """A console that uses the terminal's width, or a wide fixed width in logs and pipes (make, CI)."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPED_WIDTH)
