"""``python -m constructs_lib.local``: run an app locally, get an ID token, fire a schedule, list executions.

python -m constructs_lib.local [run] [--cdk-out cdk.out] [--port 4000] [--websocket-port 4100] [--watch]
python -m constructs_lib.local token [--cdk-out cdk.out] --email you@example.com [--user-pool ID] [--port N]
python -m constructs_lib.local trigger [--cdk-out cdk.out] SCHEDULE [--port N]
python -m constructs_lib.local executions [--cdk-out cdk.out] [--workflow Stack/Id] [--history ARN] [--port N]

--port 0 and --websocket-port 0 pick free ports. While it serves, a run writes its URLs (each REST
API's with its stage, each WebSocket API's, the AWS endpoint's) to cdk.out/local-runner-<port>.json.
--iam enforce (the default) denies what the app's IAM policies deny, --iam report only logs it, --iam off
checks nothing; at stop the least-privilege report goes to cdk.out/local-iam-report-<port>.json.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._assembly import AssemblyError
from constructs_lib.local._hints import DEFAULT_PORT
from constructs_lib.local.events.trigger import trigger
from constructs_lib.local.runner import (
    MAX_RETRY_DELAY,
    LocalRunner,
    RunnerOptions,
    create_user_token,
    read_state,
    valid_retry_delays,
)
from constructs_lib.local.stepfunctions.executions import (
    describe,
    execution_lines,
    executions,
    history,
    history_lines,
)

DEFAULT_WEBSOCKET_PORT = 4100


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m constructs_lib.local", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="serve the app (the default)")
    token = commands.add_parser(
        "token", help="create a confirmed user in a local user pool; print an ID token"
    )
    token.add_argument("--email", required=True)
    token.add_argument("--password", help="default: a random strong password")
    token.add_argument(
        "--user-pool", help="the pool's id or stack/logicalId (default: the first with a client)"
    )
    fire = commands.add_parser(
        "trigger", help="fire an EventBridge Scheduler schedule of the running app now"
    )
    fire.add_argument("schedule", help="the schedule's name, or group/name")
    listing = commands.add_parser("executions", help="list the running app's workflow executions")
    listing.add_argument("--workflow", help="only the state machines whose Stack/LogicalId starts with this")
    listing.add_argument("--history", metavar="EXECUTION_ARN", help="print this execution's history instead")
    # Options go before or after the command; a command's own copy only overrides when given.
    for command, defaults in ((parser, True), (run, False), (token, False), (fire, False), (listing, False)):
        _option(command, defaults, "--cdk-out", type=Path, default=Path("cdk.out"), help="the cloud assembly")
    # --port names the run for token, trigger and executions (when several runs of one app are active);
    # no default there.
    for command, defaults in ((parser, True), (run, False), (token, False), (fire, False), (listing, False)):
        _option(
            command, defaults, "--port", type=int, default=None, help="first REST API's port (0: free; 4000)"
        )
    for command, defaults in ((parser, True), (run, False)):
        _option(command, defaults, "--host", default="127.0.0.1", help="the address to serve on")
        _option(
            command,
            defaults,
            "--websocket-port",
            type=int,
            default=DEFAULT_WEBSOCKET_PORT,
            help="first WebSocket API's port (0: free)",
        )
        _option(command, defaults, "--aws-port", type=int, default=0, help="the moto server's port (0: free)")
        _option(
            command,
            defaults,
            "--watch",
            action="store_true",
            default=False,
            help="reload a function when its code changes; re-synthesize (cdk synth) when the app does",
        )
        _option(
            command,
            defaults,
            "--iam",
            choices=("enforce", "report", "off"),
            default="enforce",
            help="enforce the app's IAM policies (default), only log what they deny, or check nothing",
        )
        _option(
            command,
            defaults,
            "--retry-delays",
            type=_delays,
            default=RunnerOptions.retry_delays,
            metavar="SECONDS[,SECONDS...]",
            help="wait before each retry of a failed event delivery, the last repeating (default 1,2)",
        )
    arguments = parser.parse_args(argv)
    if arguments.command not in ("token", "trigger", "executions") and arguments.port is None:
        arguments.port = DEFAULT_PORT
    return arguments


def _delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        delays = ()
    if not valid_retry_delays(delays):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a list of seconds from 0 to {MAX_RETRY_DELAY}, such as 1,2"
        )
    return delays


def _option(parser: argparse.ArgumentParser, with_default: bool, name: str, **options: Any) -> None:
    if not with_default:
        options["default"] = argparse.SUPPRESS
    parser.add_argument(name, **options)


def _trigger(arguments: argparse.Namespace) -> int:
    try:
        schedule = trigger(read_state(arguments.cdk_out, arguments.port), arguments.schedule)
    except (FileNotFoundError, ValueError, LookupError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: the local run in {arguments.cdk_out} is not reachable ({error})", file=sys.stderr)
        return 2
    print(f"Triggered {schedule}: the run's log shows its delivery")
    return 0


def _executions(arguments: argparse.Namespace) -> int:
    try:
        state = read_state(arguments.cdk_out, arguments.port)
        if arguments.history:
            arn = arguments.history
            lines = history_lines(describe(state, arn), history(state, arn))
        else:
            lines = execution_lines(executions(state, arguments.workflow))
    except (FileNotFoundError, ValueError, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: the local run in {arguments.cdk_out} is not reachable ({error})", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 -- one return per command
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments.command == "token":
        try:
            state = read_state(arguments.cdk_out, arguments.port)
            print(
                create_user_token(
                    state, arguments.email, password=arguments.password, user_pool=arguments.user_pool
                )
            )
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (BotoCoreError, ClientError) as error:
            print(f"error: the local run in {arguments.cdk_out} is not reachable ({error})", file=sys.stderr)
            return 2
        return 0
    if arguments.command == "trigger":
        return _trigger(arguments)
    if arguments.command == "executions":
        return _executions(arguments)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    # Quiet the libraries that would log every request to the embedded services.
    for name in ("werkzeug", "websockets", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    options = RunnerOptions(
        host=arguments.host,
        port=arguments.port,
        websocket_port=arguments.websocket_port,
        aws_port=arguments.aws_port,
        iam=arguments.iam,
        watch=arguments.watch,
        retry_delays=arguments.retry_delays,
    )
    runner = LocalRunner(arguments.cdk_out, options)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.start()
        for line in runner.banner():
            print(line, flush=True)
        print("Ready. Press Ctrl+C to stop.", flush=True)
        # Waits in short steps: a signal delivered to another thread runs its handler only when the
        # main thread next runs Python code.
        while not stopping.wait(timeout=0.2):
            pass
    except (AssemblyError, OSError) as error:
        in_use = isinstance(error, OSError) and error.errno == errno.EADDRINUSE
        hint = (
            " (is another local run serving? choose other ports with --port and --websocket-port, "
            "or 0 for free ones)"
            if in_use
            else ""
        )
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    finally:
        # Restored first: a second Ctrl+C interrupts a stop that hangs.
        for number, handler in previous.items():
            signal.signal(number, handler)
        print("Stopping...", flush=True)
        runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
