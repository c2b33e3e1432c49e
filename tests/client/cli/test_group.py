"""``describe``, ``show`` and ``get`` are one verb in every group of the command line."""

from __future__ import annotations

import click
from click.testing import CliRunner

from dockyard.client.cli import cli
from dockyard.client.cli._group import Group

VERBS = ("describe", "show", "get")


def _groups(group: click.Group, ctx: click.Context) -> list[click.Group]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found.append(command)
            found += _groups(command, ctx)
    return found


def test_every_group_that_prints_one_thing_takes_each_name_of_the_verb() -> None:
    ctx = click.Context(cli)
    groups = _groups(cli, ctx)
    with_verb = [g for g in groups if any(v in g.commands for v in VERBS)]
    assert {g.name for g in with_verb} >= {"runs", "jobs", "params", "triggers", "pipelines"}
    for group in with_verb:
        assert isinstance(group, Group), group.name
        own = next(group.commands[v] for v in VERBS if v in group.commands)
        for verb in VERBS:
            assert group.get_command(ctx, verb) is own, (group.name, verb)


def test_help_lists_the_groups_own_name_and_an_unknown_command_is_still_refused() -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["triggers", "--help"]).output
    assert "  get " in shown and "describe" not in shown
    refused = runner.invoke(cli, ["triggers", "frob"])
    assert refused.exit_code == 2 and "No such command 'frob'" in refused.output
