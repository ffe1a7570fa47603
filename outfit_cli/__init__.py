"""The ``outfit`` command. Thin: parse, call a package's public API (or a use case), print.

One module per command group (``cmd_data``, ``cmd_train``, ``cmd_evaluate``, ``cmd_closet``,
``cmd_serve``), each adding its commands to the group of :mod:`outfit_cli.group`. The packages a
command drives are imported inside it, so that ``outfit --help`` stays fast and loads no torch.
``python -m outfit_cli`` runs it too (the web app's background jobs do).
"""

from __future__ import annotations

from outfit_cli import cmd_closet, cmd_data, cmd_evaluate, cmd_serve, cmd_train  # noqa: F401  (they register)
from outfit_cli.group import cli

__all__ = ["main", "cli"]


def main() -> None:
    cli(prog_name="outfit")
