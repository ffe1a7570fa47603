"""The web app: ``serve`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from outfit_cli.group import cli


def _host_names(ctx: click.Context, param: click.Parameter,
                values: tuple[str, ...]) -> tuple[str, ...]:
    from webapp.hosts import split_host

    for value in values:
        try:
            name, _ = split_host(value)
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: {exc}; give NAME or NAME:PORT") from None
        if not name:
            raise click.BadParameter(f"{value!r}: no host name; give NAME or NAME:PORT")
    return values


@cli.command()
@click.option("--outfits", "n_outfits", default=None, type=click.IntRange(min=10),
              help="Size of the demo's training world (default 2000).")
@click.option("--closet-items", default=80, show_default=True, type=click.IntRange(min=6),
              help="Items in the demo closet (made only when the closet is empty).")
@click.option("--serve/--no-serve", "do_serve", default=True, show_default=True,
              help="Serve the app once the demo is ready (--no-serve: prepare only).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but a loopback one needs a password (see serve).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Read the app's password from this file's first line "
                                 "(else $OUTFIT_PASSWORD).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME[:PORT]",
              callback=_host_names,
              help="A host name the app answers to besides loopback and the address it "
                   "listens on (a reverse proxy's name, a LAN name). Requests naming any other "
                   "host get 400: a defence against DNS rebinding. Repeat for several.")
@click.option("--quick", is_flag=True, hidden=True,
              help="Tiny world and a few epochs: a poor demo in seconds (tests, CI).")
def demo(n_outfits: int | None, closet_items: int, do_serve: bool, host: str, port: int,
         password_file: Path | None, allowed_hosts: tuple[str, ...], quick: bool) -> None:
    """Set up the demo in the instance folder ($OUTFIT_HOME or ~/.outfit) and serve it.

    The first run trains the demo model on a synthetic world (a few minutes on 2 cores) and
    fills the closet with about 80 items of another synthetic world; later runs find both and
    serve at once."""
    from outfit.config import instance_dir
    from usecases.demo import QUICK, prepare_demo
    from webapp.access import access_config

    access = access_config(host, password_file) if do_serve else {}  # refuse before the work
    home = instance_dir(create=True)
    click.echo(f"instance folder: {home}")
    options: dict = {**QUICK} if quick else {}
    if n_outfits is not None:
        options["outfits"] = n_outfits
    state = prepare_demo(home, closet_items=closet_items, echo=click.echo, **options)
    click.echo(f"demo ready in {state.seconds:.1f} s: model {state.model_dir}, "
               f"{state.closet_items} items in the closet")
    if not do_serve:
        return
    from webapp import create_app
    from webapp.server import serve as serve_app

    app = create_app({"OUTFIT_HOME": home, "MODEL": state.model_dir,
                      "ALLOWED_HOSTS": list(allowed_hosts), **access})
    serve_app(app, host, port, 8,
              announce=lambda url: click.echo(f"Serving the demo at {url} (Ctrl+C to stop)"))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address (0.0.0.0, a LAN "
                   "address) shows the closet to the network and needs a password.")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Read the password from this file's first line (else "
                                 "$OUTFIT_PASSWORD). With a password, every page and API call "
                                 "needs it.")
@click.option("--secure-cookie", is_flag=True,
              help="Send the login cookie over https only (behind an https reverse proxy).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instance folder (default: $OUTFIT_HOME or ~/.outfit).")
@click.option("--model", "model_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Model folder that tags uploads (default: the newest under <home>/models).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--trusted-proxy", metavar="ADDRESS", default=None,
              help="The address of a reverse proxy in front of the app: its X-Forwarded-For "
                   "is believed, so the login throttle counts each client behind it apart "
                   "(without it, they all share the proxy's address).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME[:PORT]",
              callback=_host_names,
              help="A host name the app answers to besides loopback and the address it "
                   "listens on (a reverse proxy's name, a LAN name). Requests naming any other "
                   "host get 400: a defence against DNS rebinding. Repeat for several.")
@click.option("--data-root", "data_roots", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder the models page may read datasets from (besides <home>/worlds): "
                   "a dataset, or a folder of datasets. Repeat for several.")
def serve(host: str, password_file: Path | None, secure_cookie: bool, port: int,
          home: Path | None, model_path: Path | None, threads: int,
          data_roots: tuple[Path, ...], allowed_hosts: tuple[str, ...],
          trusted_proxy: str | None) -> None:
    """Serve the closet web app with waitress and print its address.

    It listens on 127.0.0.1 only, unless --host says otherwise. To serve on your network, set a
    password first, in the environment or in a file (never on the command line, where ps would
    show it):

    \b
        OUTFIT_PASSWORD='...' outfit serve --host 0.0.0.0
        outfit serve --host 0.0.0.0 --password-file ~/.outfit-password

    Then every page asks for it once (a login page; the session lasts until the browser or the
    server stops) and API calls take it by HTTP Basic auth (any user name). The app speaks plain
    http: anyone on the network can read the traffic, the password included; put an https
    reverse proxy in front (and pass --secure-cookie) on a network you do not trust."""
    from webapp import create_app
    from webapp.access import access_config
    from webapp.server import serve as serve_app

    config: dict[str, object] = dict(access_config(host, password_file))
    config["ALLOWED_HOSTS"] = list(allowed_hosts)
    if secure_cookie:
        config["SESSION_COOKIE_SECURE"] = True
    if home is not None:
        config["OUTFIT_HOME"] = home
    if model_path is not None:
        config["MODEL"] = model_path
    if data_roots:
        config["DATA_ROOTS"] = list(data_roots)
    app = create_app(config)
    if "PASSWORD_HASH" in config:
        click.echo("a password is set: every page and API call needs it", err=True)
    _warn_if_damaged(app.extensions["outfit"].store)
    serve_app(app, host, port, threads,
              announce=lambda url: click.echo(f"Serving the closet at {url} (Ctrl+C to stop)"),
              trusted_proxy=trusted_proxy)


def _warn_if_damaged(store: Any) -> None:
    """At start, say so when a crash left the closet inconsistent (see `outfit check`)."""
    report = store.integrity_report()
    if report["ok"]:
        return
    problems = [f"{len(report[k])} {what}" for k, what in (
        ("orphan_files", "stray file(s)"), ("missing_photos", "item(s) without a photo"),
        ("missing_thumbs", "item(s) without a thumbnail")) if report[k]]
    if report["integrity_check"] != ["ok"] or report["foreign_key_errors"]:
        problems.append("a damaged database")
    click.echo(f"warning: the closet in {store.folder} has {', '.join(problems)}; run "
               f"`outfit check --home {store.folder}` for details", err=True)
