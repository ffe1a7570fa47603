"""The ``outfit`` command group, its error handling and its summaries; the commands are in
the ``cmd_*`` modules beside it."""

from __future__ import annotations

import json

import click

from outfit.errors import OutfitError


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except OutfitError as exc:
            msg = exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")
            raise click.ClickException(msg) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Grade outfits, search a closet for the best ones, and explain every score."""


def print_summary(summary: dict, as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(summary, indent=None, sort_keys=True))
        return
    click.echo(title)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        click.echo(f"  {key:<16} {value}")
