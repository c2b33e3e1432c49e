"""``dockyard users | tokens | access-keys | grants | login | logout | whoami``: identity and
access."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import click

from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import (
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.http import routes
from dockyard.errors import InvalidArgument

__all__ = ["access_keys", "grants", "login", "logout", "tokens", "users", "whoami"]

_ROLES = click.Choice(["viewer", "member", "admin"])


def _password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


# -- whoami, login, logout ------------------------------------------------------------------------


@click.command()
@json_option
@fail_on_error
def whoami(as_json: bool) -> None:
    """Who the CLI acts as on its server, and whether the server requires signing in."""
    me = client().call(routes.WHOAMI())

    def human() -> str:
        extra = " (read-only token)" if me["read_only"] else ""
        required = "required" if me["auth_required"] else "not required"
        return f"{me['name']} [{me['kind']}, {me['role']}]{extra}; sign-in {required}"

    emit(me, as_json, human)


@click.command()
@click.option("--url", envvar="DOCKYARD_URI", help="Server URL (default: DOCKYARD_URI).")
@click.option("--username", "-u", default=None, help="Account name (prompted if omitted).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--token", default=None, help="Save this existing token instead of signing in.")
@click.option("--ttl-days", type=float, default=None, help="Lifetime of the new token.")
@json_option
@fail_on_error
def login(
    url: str | None,
    username: str | None,
    password_stdin: bool,
    token: str | None,
    ttl_days: float | None,
    as_json: bool,
) -> None:
    """Sign in to a server and save a token for it (used when DOCKYARD_TOKEN is unset)."""
    from dockyard.client.http import Client, save_token

    if not url:
        raise InvalidArgument("login needs a server: pass --url or set DOCKYARD_URI", field="url")
    if token is None:
        import base64

        # Asked on stderr: what --json prints on stdout stays JSON.
        name = username or click.prompt("user name", err=True)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("password", hide_input=True, err=True)
        basic = base64.b64encode(f"{name}:{password}".encode()).decode()
        body: dict[str, Any] = {"name": f"cli {socket.gethostname()}"[:128]}
        flags = FlagFields()
        if ttl_days is not None:
            flags.set(body, "ttl_days", ttl_days, "--ttl-days")
        with Client(url, retry_for=0) as anonymous, flags.naming():
            created = anonymous.call(
                routes.CREATE_TOKEN(), body, headers={"authorization": f"Basic {basic}"}
            )
        token = str(created["token"])
    with Client(url, token=token, retry_for=0) as checked:
        me = checked.call(routes.WHOAMI())
    path = save_token(url, token)
    said = f"signed in to {url} as {me['name']} ({me['role']}); token saved in {path}"
    more = {"user": me["name"], "role": me["role"], "token_file": str(path)}
    emit_done("signed_in", "server", url, as_json, said, **more)
    if os.environ.get("DOCKYARD_URI", "").rstrip("/") != url.rstrip("/"):
        # Commands go to DOCKYARD_URI (else the embedded local default), not to the last login.
        hint = f"other commands use it with: export DOCKYARD_URI={url}"
        click.echo(f"note: {hint}" if as_json else hint, err=as_json)


@click.command()
@click.option("--url", envvar="DOCKYARD_URI", help="Server URL (default: DOCKYARD_URI).")
@json_option
@fail_on_error
def logout(url: str | None, as_json: bool) -> None:
    """Revoke the token saved for a server and forget it (--json: ``revoked`` says whether the
    server revoked one)."""
    from dockyard.client.http import Client, forget_token

    if not url:
        raise InvalidArgument("logout needs a server: pass --url or set DOCKYARD_URI", field="url")
    token = forget_token(url)
    if token is None:
        emit_done("signed_out", "server", url, as_json, f"no token saved for {url}", revoked=False)
        return
    token_id = token.split("_")[1] if token.count("_") >= 2 else ""
    revoked = False
    with Client(url, token=token, retry_for=0) as signed_in:
        try:
            signed_in.call(routes.REVOKE_TOKEN(token_id=token_id))
            revoked = True
        except Exception as exc:  # the token may be expired or revoked already
            click.echo(f"(the server did not revoke it: {exc})", err=True)
    emit_done("signed_out", "server", url, as_json, f"signed out of {url}", revoked=revoked)


# -- users ----------------------------------------------------------------------------------------


@click.group(cls=Group)
def users() -> None:
    """Accounts (admins). The first account must be an admin; creating it turns sign-in on."""


def _user_rows(items: list[dict[str, Any]]) -> str:
    return table(
        ["name", "role", "disabled", "password", "created", "store area"],
        [
            [
                u["name"],
                u["role"],
                "yes" if u["disabled"] else "no",
                "yes" if u["has_password"] else "no",
                format_time(u["created_time"]),
                u.get("area") or "",
            ]
            for u in items
        ],
    )


@users.command("create")
@click.argument("name")
@click.option("--role", type=_ROLES, default="member", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="An account that signs in with tokens only.")
@json_option
@fail_on_error
def create_user(
    name: str, role: str, password_stdin: bool, no_password: bool, as_json: bool
) -> None:
    """Create an account."""
    body: dict[str, Any] = {"name": name, "role": role}
    if not no_password:
        body["password"] = _password(f"password for {name}", password_stdin)
    user = client().call(routes.CREATE_USER(), body)
    emit(user, as_json, lambda: f"created {role} {name}")


@users.command("list")
@json_option
@fail_on_error
def list_users(as_json: bool) -> None:
    """List accounts."""
    items = client().call(routes.LIST_USERS())["users"]
    emit(items, as_json, lambda: _user_rows(items))


def _update(name: str, body: dict[str, Any], as_json: bool, said: str) -> None:
    user = client().call(routes.UPDATE_USER(name=name), body)
    emit(user, as_json, lambda: said)


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@fail_on_error
def set_password(name: str, password_stdin: bool, as_json: bool) -> None:
    """Set an account's password (your own, or any as an admin).

    Your own needs the one you have now too (with --password-stdin: the current password on
    the first line, the new one on the second). A new password signs the account out of its
    browser sessions; its tokens and access keys stay.
    """
    body: dict[str, Any] = {}
    me = client().call(routes.WHOAMI())
    if me["name"] == name:
        if password_stdin:
            body["current_password"] = sys.stdin.readline().rstrip("\r\n")
        else:
            body["current_password"] = str(
                click.prompt(
                    f"current password for {name} (empty if it has none)",
                    hide_input=True,
                    default="",
                    show_default=False,
                )
            )
    body["password"] = _password(f"new password for {name}", password_stdin)
    _update(name, body, as_json, f"password of {name} changed")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=_ROLES)
@json_option
@fail_on_error
def set_role(name: str, role: str, as_json: bool) -> None:
    """Change an account's role."""
    _update(name, {"role": role}, as_json, f"{name} is now {role}")


@users.command()
@click.argument("name")
@json_option
@fail_on_error
def disable(name: str, as_json: bool) -> None:
    """Disable an account (its tokens are revoked)."""
    _update(name, {"disabled": True}, as_json, f"{name} disabled; its tokens are revoked")


@users.command()
@click.argument("name")
@json_option
@fail_on_error
def enable(name: str, as_json: bool) -> None:
    """Enable a disabled account."""
    _update(name, {"disabled": False}, as_json, f"{name} enabled")


@users.command("delete")
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete_user(name: str, yes: bool, as_json: bool) -> None:
    """Delete an account with its tokens and grants (asks first; --yes does not).

    Its uploads and checkpoints stay in the artifact store, for admins and for the jobs and
    models that name them; an account made later under the same name gets a new area.
    """
    confirm(f"delete account {name} with its tokens and grants", yes)
    client().call(routes.DELETE_USER(name=name))
    emit_done("deleted", "user", name, as_json, f"deleted {name}")


# -- tokens ---------------------------------------------------------------------------------------


@click.group(cls=Group)
def tokens() -> None:
    """API tokens: for scripts, CI, Prometheus and the mlflow client (MLFLOW_TRACKING_TOKEN)."""


@tokens.command("create")
@click.option("--name", default="token", show_default=True, help="What it is for.")
@click.option("--ttl-days", type=float, default=None, help="Lifetime (server default: 90).")
@click.option("--read-only", is_flag=True, help="A token that can only read.")
@click.option("--user", default=None, help="Admins: create it for this account.")
@json_option
@fail_on_error
def create_token(
    name: str, ttl_days: float | None, read_only: bool, user: str | None, as_json: bool
) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    flags = FlagFields()
    with flags.naming():
        body = _credential(name, ttl_days, read_only, user, flags)
        made = client().call(routes.CREATE_TOKEN(), body)

    def human() -> str:
        return (
            f"{made['token']}\n(token {made['token_id']} for {made['user']}, expires "
            f"{format_time(made['expires_time'])}; it is shown only now)"
        )

    emit(made, as_json, human)


@tokens.command("list")
@click.option("--user", default=None, help="Admins: another account's tokens.")
@json_option
@fail_on_error
def list_tokens(user: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    items = client().call(routes.LIST_TOKENS(), params={"user": user or None})["tokens"]
    emit(items, as_json, lambda: _credentials_table(items, "token_id"))


@tokens.command()
@click.argument("token_id")
@yes_option
@json_option
@fail_on_error
def revoke(token_id: str, yes: bool, as_json: bool) -> None:
    """Revoke a token (asks first; --yes does not)."""
    confirm(f"revoke token {token_id}", yes)
    client().call(routes.REVOKE_TOKEN(token_id=token_id))
    emit_done("revoked", "token", token_id, as_json, f"revoked {token_id}")


# -- access keys ----------------------------------------------------------------------------------


def _credential(
    name: str, ttl_days: float | None, read_only: bool, user: str | None, flags: FlagFields
) -> dict[str, Any]:
    """The body that creates a token or an access key (its fields' flags in ``flags``)."""
    body: dict[str, Any] = {"read_only": read_only}
    flags.set(body, "name", name, "--name")
    if ttl_days is not None:
        flags.set(body, "ttl_days", ttl_days, "--ttl-days")
    if user is not None:
        flags.set(body, "user", user, "--user")
    return body


def _credentials_table(items: list[dict[str, Any]], id_field: str) -> str:
    """Tokens or access keys as a table (never their secrets)."""
    rows = [
        [
            item[id_field],
            item["user"],
            item["name"],
            "read" if item["read_only"] else "all",
            format_time(item["expires_time"]),
            "revoked" if item["revoked_time"] else "active",
        ]
        for item in items
    ]
    return table(["id", "user", "name", "scope", "expires", "state"], rows)


@click.group("access-keys", cls=Group)
def access_keys() -> None:
    """Access keys: boto3 and the SageMaker SDK sign with them (AWS_ACCESS_KEY_ID, SECRET)."""


@access_keys.command("create")
@click.option("--name", default="access key", show_default=True, help="What it is for.")
@click.option("--ttl-days", type=float, default=None, help="Lifetime (server default: 90).")
@click.option("--read-only", is_flag=True, help="A key that can only read.")
@click.option("--user", default=None, help="Admins: create it for this account.")
@json_option
@fail_on_error
def create_access_key(
    name: str, ttl_days: float | None, read_only: bool, user: str | None, as_json: bool
) -> None:
    """Create an access key; its secret is printed once and cannot be shown again."""
    flags = FlagFields()
    with flags.naming():
        body = _credential(name, ttl_days, read_only, user, flags)
        made = client().call(routes.CREATE_ACCESS_KEY(), body)

    def human() -> str:
        return (
            f"AWS_ACCESS_KEY_ID={made['access_key_id']}\n"
            f"AWS_SECRET_ACCESS_KEY={made['secret_access_key']}\n"
            f"(for {made['user']}, expires {format_time(made['expires_time'])}; the secret is "
            "shown only now)"
        )

    emit(made, as_json, human)


@access_keys.command("list")
@click.option("--user", default=None, help="Admins: another account's keys.")
@json_option
@fail_on_error
def list_access_keys(user: str | None, as_json: bool) -> None:
    """List access keys (never their secrets)."""
    items = client().call(routes.LIST_ACCESS_KEYS(), params={"user": user or None})
    keys = items["access_keys"]
    emit(keys, as_json, lambda: _credentials_table(keys, "access_key_id"))


@access_keys.command("revoke")
@click.argument("access_key_id")
@yes_option
@json_option
@fail_on_error
def revoke_access_key(access_key_id: str, yes: bool, as_json: bool) -> None:
    """Revoke an access key: requests it signs are refused from now on (asks first; --yes
    does not)."""
    confirm(f"revoke access key {access_key_id}", yes)
    client().call(routes.REVOKE_ACCESS_KEY(access_key_id=access_key_id))
    said = f"revoked {access_key_id}"
    emit_done("revoked", "access_key", access_key_id, as_json, said)


# -- grants ---------------------------------------------------------------------------------------


@click.group(cls=Group)
def grants() -> None:
    """Who may do what with an experiment, a registered model or an endpoint."""


@grants.command("set")
@click.argument(
    "kind", type=click.Choice(["experiment", "registered_model", "endpoint", "parameter"])
)
@click.argument("resource")
@click.argument("user")
@click.argument("level", type=click.Choice(["none", "read", "edit", "manage"]))
@json_option
@fail_on_error
def set_grant(kind: str, resource: str, user: str, level: str, as_json: bool) -> None:
    """Give USER (or '*', everyone signed in) LEVEL on a resource; 'none' removes it."""
    body = {"kind": kind, "resource": resource, "user": user, "level": level}
    grant = client().call(routes.SET_GRANT(), body)
    emit(grant, as_json, lambda: f"{user}: {level} on {kind} {resource}")


@grants.command("list")
@click.argument(
    "kind", type=click.Choice(["experiment", "registered_model", "endpoint", "parameter"])
)
@click.argument("resource")
@json_option
@fail_on_error
def list_grants(kind: str, resource: str, as_json: bool) -> None:
    """Who holds which level on a resource."""
    params = {"kind": kind, "resource": resource}
    items = client().call(routes.LIST_GRANTS(), params=params)["grants"]
    rows = [[g["user"], g["level"]] for g in items]
    emit(items, as_json, lambda: table(["user", "level"], rows))
