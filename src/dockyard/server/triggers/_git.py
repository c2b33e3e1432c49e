"""Git push webhooks: GitHub's and GitLab's, verified, read into a cause.

GitHub signs the body: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the
secret>`` (the body as sent: JSON, or a form whose ``payload`` field is the JSON, when the
webhook's content type is ``application/x-www-form-urlencoded``); GitLab sends the secret
itself in ``X-Gitlab-Token``. Either is compared in constant time. A push becomes a cause with
``provider``, ``repository``, ``branch``, ``sha``, ``before``, ``paths`` (added, modified and
removed files of its commits, at most 200), ``pusher`` and ``url``; its key is
``push:<repository>:<branch>:<sha>``, so a redelivered push fires once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import orjson

from dockyard.api.triggers import GitSource
from dockyard.errors import InvalidArgument, Unauthenticated

__all__ = ["Push", "matches", "read_push", "verify"]

MAX_PATHS = 200
Push = dict[str, Any]


def provider_of(headers: Mapping[str, str]) -> str | None:
    if "x-github-event" in headers or "x-hub-signature-256" in headers:
        return "github"
    if "x-gitlab-event" in headers or "x-gitlab-token" in headers:
        return "gitlab"
    return None


def verify(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Unauthenticated unless the request carries the trigger's signature or token."""
    if provider == "github":
        sent = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not sent or not hmac.compare_digest(sent.strip().lower(), expected):
            raise Unauthenticated("X-Hub-Signature-256 does not match this trigger's secret")
        return
    sent = headers.get("x-gitlab-token", "")
    if not sent or not hmac.compare_digest(sent.encode(), secret.encode()):
        raise Unauthenticated("X-Gitlab-Token is not this trigger's secret")


def event_name(provider: str, headers: Mapping[str, str]) -> str:
    if provider == "github":
        return headers.get("x-github-event", "")
    return headers.get("x-gitlab-event", "")


def _json_of(body: bytes, content_type: str) -> bytes:
    """The JSON of a push: the body, or its ``payload`` field when GitHub posts a form
    (its "application/x-www-form-urlencoded" content type; the signature covers the form)."""
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        return body
    from urllib.parse import parse_qs

    try:
        fields = parse_qs(body.decode(), strict_parsing=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise InvalidArgument("the push form is not URL-encoded text", field="body") from None
    if len(fields.get("payload", [])) != 1:
        raise InvalidArgument("a push sent as a form has one payload field", field="payload")
    return fields["payload"][0].encode()


def read_push(provider: str, body: bytes, content_type: str = "application/json") -> Push:
    """The cause a push payload describes (JSON, or GitHub's form with a ``payload``)."""
    try:
        payload = orjson.loads(_json_of(body, content_type))
    except orjson.JSONDecodeError:
        raise InvalidArgument("the push body is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidArgument("the push body is not a JSON object", field="body")
    ref = payload.get("ref")
    sha = payload.get("after") if provider == "github" else payload.get("checkout_sha")
    sha = sha or payload.get("after")
    repo = payload.get("repository") or {}
    project = payload.get("project") or {}
    if provider == "github":
        name = repo.get("full_name") if isinstance(repo, dict) else None
        url = payload.get("compare") or (repo.get("html_url") if isinstance(repo, dict) else "")
        who = payload.get("pusher")
        pusher = who.get("name", "") if isinstance(who, dict) else ""
    else:
        name = project.get("path_with_namespace") if isinstance(project, dict) else None
        url = project.get("web_url", "") if isinstance(project, dict) else ""
        pusher = payload.get("user_username") or payload.get("user_name") or ""
    if not isinstance(ref, str) or not isinstance(sha, str) or not isinstance(name, str):
        raise InvalidArgument(
            "not a push payload: ref, the commit sha and the repository are required",
            field="body",
        )
    # Whatever else a payload's commits hold is skipped: it names no path. The first
    # MAX_PATHS distinct ones are kept, in order, so a big push costs no more than that.
    paths: dict[str, None] = {}
    commits = payload.get("commits")
    for commit in commits if isinstance(commits, list) else []:
        if not isinstance(commit, dict):
            continue
        for key in ("added", "modified", "removed"):
            named = commit.get(key)
            for path in named if isinstance(named, list) else []:
                if isinstance(path, str) and len(paths) < MAX_PATHS:
                    paths.setdefault(path, None)
    return {
        "provider": provider,
        "repository": name,
        "branch": ref.removeprefix("refs/heads/"),
        "ref": ref,
        "sha": sha,
        "before": str(payload.get("before") or ""),
        "paths": list(paths),
        "pusher": str(pusher)[:200],
        "url": str(url or "")[:500],
    }


def matches(source: GitSource, push: Push) -> str | None:
    """None when the push passes the trigger's filters, else why not."""
    if source.provider != "any" and source.provider != push["provider"]:
        return f"the trigger takes {source.provider} pushes"
    if source.repository and source.repository.lower() != push["repository"].lower():
        return f"repository {push['repository']} is not {source.repository}"
    if not push["ref"].startswith("refs/heads/"):
        return f"{push['ref']} is not a branch"
    if set(push["sha"]) == {"0"}:
        return "the branch was deleted"
    if source.branches and not any(fnmatchcase(push["branch"], b) for b in source.branches):
        return f"branch {push['branch']} matches none of {', '.join(source.branches)}"
    if source.paths and not any(
        fnmatchcase(path, pattern) for path in push["paths"] for pattern in source.paths
    ):
        return f"no changed file matches {', '.join(source.paths)}"
    return None
