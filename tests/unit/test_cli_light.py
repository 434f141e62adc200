"""`prachar --help` answers at once: the group lists its commands without importing them, and nothing heavy (rich,
pydantic, boto3, the domain) is imported until a command runs. `make bench` (bench/cli_start.py) times it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("rich", "pydantic", "boto3", "botocore", "chalicelib", "yaml", "urllib3")
PROBE = """
import json, sys
from prachar_cli.main import cli
try:
    cli(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))
"""


def imported_by(*arguments: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *arguments], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_imports_nothing_heavy():
    assert imported_by("--help") == []
    assert imported_by("--lang", "hi", "--help") == []


def test_a_commands_help_imports_only_its_own_module():
    assert imported_by("template", "--help") == []


def test_help_lists_every_command_in_both_languages():
    from click.testing import CliRunner

    from prachar_cli.main import COMMANDS, cli

    english = " ".join(CliRunner().invoke(cli, ["--lang", "en", "--help"]).output.split())
    hindi = " ".join(CliRunner().invoke(cli, ["--lang", "hi", "--help"]).output.split())
    for name, (_, _, in_english, in_hindi) in COMMANDS.items():
        assert f"{name} {in_english}" in english, name
        assert f"{name} {in_hindi}" in hindi, name
