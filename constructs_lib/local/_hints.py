"""The commands the runner suggests, as they work for the app being run.

An app whose directory (the one holding its ``cdk.out``) has a Makefile with ``local`` and
``local-token`` targets, as the reference app does, is run with make; any other app with
``python -m constructs_lib.local``, naming its cloud assembly when it is not ``./cdk.out``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CDK_OUT = Path("cdk.out")
DEFAULT_PORT = 4000
_MAKE_TARGET = re.compile(r"^(local|local-token)\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Commands:
    """How to start a local run of one app, and how to get an ID token from it."""

    with_make: bool
    cdk_out: Path

    def run(self) -> str:
        if self.with_make:
            return "make local"
        return f"python -m constructs_lib.local run{self._cdk_out_option()}"

    def token(self, port: int | None = None) -> str:
        """The token command; `port` names the run when it is not on the default port."""
        port_option = f"--port {port}" if port not in (None, DEFAULT_PORT) else ""
        if self.with_make:
            return "make local-token EMAIL=you@example.com" + (
                f' TOKEN_ARGS="{port_option}"' if port_option else ""
            )
        command = f"python -m constructs_lib.local token{self._cdk_out_option()} --email you@example.com"
        return f"{command} {port_option}" if port_option else command

    def _cdk_out_option(self) -> str:
        default = self.cdk_out.absolute() == Path.cwd() / DEFAULT_CDK_OUT
        return "" if default else f" --cdk-out {shlex.quote(str(self.cdk_out))}"


def commands_for(cdk_out: Path) -> Commands:
    """The commands for the app whose cloud assembly is `cdk_out` (as given on the command line)."""
    makefile = cdk_out.absolute().parent / "Makefile"
    targets = set(_MAKE_TARGET.findall(makefile.read_text(errors="replace"))) if makefile.is_file() else set()
    # make runs from the Makefile's directory: only the default assembly beside it is the one make serves.
    with_make = targets == {"local", "local-token"} and cdk_out.name == DEFAULT_CDK_OUT.name
    return Commands(with_make=with_make, cdk_out=cdk_out)
