"""Test helpers for CDK apps built with constructs_lib: snapshots, one synth per session, local runs.

Template snapshots that change only when the infrastructure does (syrupy)::

    from constructs_lib.testing import app_for_tests, normalize_template, synth_templates

    @pytest.fixture(scope="session")            # one synth for the whole run: each costs seconds of jsii
    def templates() -> dict[str, dict]:
        return synth_templates(build_app(app_for_tests("cdk.json")))

    def test_stack_snapshot(templates, snapshot):
        assert normalize_template(templates["MyStack"]) == snapshot

End-to-end tests against the app run locally (needs ``constructs-lib[local]``)::

    @pytest.fixture(scope="session")
    def local(tmp_path_factory):
        outdir = tmp_path_factory.mktemp("cdk.out")
        build_app(app_for_tests("cdk.json", outdir=outdir)).synth()
        with local_app(outdir) as app:
            yield app

    def test_create(local):
        token = local.token("me@example.com")               # a Cognito user of the app's pool
        requests.post(local.rest_api_url() + "items", headers={"Authorization": token}, ...)

Scanner acknowledgments (cdk-nag, checkov, Control Tower) are not a test concern: use
`constructs_lib.acknowledge` on the resource, in the app.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aws_cdk import App

if TYPE_CHECKING:
    from constructs_lib.local.runner import LocalRunner

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
ASSET_HASH_PLACEHOLDER = "<asset-hash>"


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """`template` with every asset hash (64 hex digits: code bundles, files, S3 keys) replaced.

    A function's asset hash changes with any byte of its bundle (a dependency's patch release,
    a rebuilt wheel), so a snapshot of the raw template would change without the infrastructure
    changing. Compare the result with syrupy's ``snapshot``.
    """
    result: dict[str, Any] = json.loads(ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, json.dumps(template)))
    return result


def cdk_context(cdk_json: Path | str = "cdk.json") -> dict[str, Any]:
    """The ``context`` of the app's cdk.json: the feature flags `cdk synth` passes to the app."""
    context: dict[str, Any] = json.loads(Path(cdk_json).read_text()).get("context", {})
    return context


def app_for_tests(cdk_json: Path | str = "cdk.json", *, outdir: Path | None = None, **context: Any) -> App:
    """An App as `cdk synth` makes it: cdk.json's context (feature flags), plus `context`.

    ``App()`` in a test does not read cdk.json, so without this a test synthesizes the app under
    different feature flags than `cdk synth` does. Version reporting is off (no CDKMetadata).
    """
    merged = {**cdk_context(cdk_json), "aws:cdk:version-reporting": False, **context}
    return App(context=merged, outdir=str(outdir) if outdir else None)


def synth_templates(app: App) -> dict[str, dict[str, Any]]:
    """Synthesize `app` once (cdk-nag and other validations run) and return templates by stack name.

    Stacks in Stages and nested stacks are included. Call it from a session- or module-scoped
    fixture: every synth starts jsii work that costs seconds.
    """
    assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks_recursively}


@dataclass
class LocalApp:
    """A running local copy of the app (`local_app`): its URLs, users and functions."""

    runner: LocalRunner

    def rest_api_url(self, name: str | None = None) -> str:
        """The REST API's URL with its stage, ending in "/" like ``RestApi.url`` (`name` is "Stack/Api")."""
        return self._pick(self.runner.state()["restApiUrls"], name, "REST API")

    def websocket_url(self, name: str | None = None) -> str:
        """The WebSocket API's ``ws://`` URL (`name` is "Stack/Api")."""
        return self._pick(self.runner.websocket_apis, name, "WebSocket API")

    def token(self, email: str, *, user_pool: str | None = None) -> str:
        """An ID token for `email`, a confirmed user created (or reset) in the app's local user pool."""
        from constructs_lib.local.cognito import create_user_token  # noqa: PLC0415 - the optional local extra

        return create_user_token(self.runner.state(), email, user_pool=user_pool)

    @property
    def region(self) -> str:
        """The region the run serves (the stacks' own, else us-east-1): sign SigV4 requests for it."""
        return self.runner.region

    @property
    def aws_environment(self) -> dict[str, str]:
        """Environment variables that point an AWS SDK at the run's AWS services (moto)."""
        return self.runner.aws_environment()

    @staticmethod
    def _pick(urls: Mapping[str, str], name: str | None, kind: str) -> str:
        if name is None and len(urls) == 1:
            return next(iter(urls.values()))
        if name is not None and name in urls:
            return urls[name]
        raise KeyError(f"name one {kind} of the app: {', '.join(urls) or 'it has none'} (got {name!r})")


@contextmanager
def local_app(
    cdk_out: Path,
    *,
    port: int = 0,
    websocket_port: int = 0,
    output: IO[str] | None = None,
) -> Iterator[LocalApp]:
    """Run the app synthesized into `cdk_out` on 127.0.0.1 (`python -m constructs_lib.local`) while inside.

    Ports default to free ones; the runner's log goes to `output` (default: discarded). Everything
    is stopped on exit, also when the body raises.
    """
    from constructs_lib.local.runner import LocalRunner, RunnerOptions  # noqa: PLC0415 - the optional local extra

    options = RunnerOptions(port=port, websocket_port=websocket_port)
    with LocalRunner(cdk_out, options, output=output or io.StringIO()) as runner:
        yield LocalApp(runner)
