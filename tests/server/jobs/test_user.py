"""Resolving DOCKYARD_JOB_USER: refused loudly at start rather than ignored."""

from __future__ import annotations

import os
import pwd

import pytest

from dockyard.api.jobs._user import resolve_job_user
from dockyard.errors import InvalidArgument


def test_unset_or_the_servers_own_user_switches_nothing() -> None:
    assert resolve_job_user(None) is None
    assert resolve_job_user(pwd.getpwuid(os.geteuid()).pw_name) is None


def test_an_unknown_user_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidArgument, match="no such user") as caught:
        resolve_job_user("no-such-user-here")
    assert caught.value.field == "job_user"


@pytest.mark.skipif(os.geteuid() != 0, reason="as root, any other user resolves")
def test_as_root_another_user_resolves_with_its_groups() -> None:
    user = resolve_job_user("nobody")
    assert user is not None and user.uid == pwd.getpwnam("nobody").pw_uid
    assert user.popen_options()["user"] == user.uid and user.popen_options()["umask"] == 0o077
    assert type(user).from_dict(user.to_dict()) == user
