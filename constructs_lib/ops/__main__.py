"""``python -m constructs_lib.ops redrive QUEUE``: re-drive a dead-letter queue's failed events.

python -m constructs_lib.ops redrive QUEUE [--yes] [--to QUEUE] [--region R] [--profile P]
python -m constructs_lib.ops redrive QUEUE --local [--cdk-out cdk.out] [--port N] [--yes]

QUEUE is the dead-letter queue's name, URL or ARN (the ServiceDashboard's text widget lists them).
Against AWS it uses the usual credentials (environment, profile); with --local, the running
`make local` (its state file cdk.out/local-runner-<port>.json names its AWS and Lambda endpoints).
It shows the count and asks before changing anything; --yes skips the question (needed without a TTY).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.ops.redrive import VISIBILITY_TIMEOUT, Clients, plan, redrive

LOCAL_LAMBDA_STATE = "lambdaApi"  # the local run's Lambda API endpoint, in its state file


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m constructs_lib.ops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("redrive", help="re-drive a dead-letter queue's messages")
    command.add_argument("queue", help="the dead-letter queue's name, URL or ARN")
    command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command.add_argument("--to", help="the source queue to move messages to, when several use this one")
    command.add_argument(
        "--visibility-timeout",
        type=int,
        default=VISIBILITY_TIMEOUT,
        help=f"seconds a kept message stays hidden before it is back in the queue ({VISIBILITY_TIMEOUT})",
    )
    command.add_argument("--region", help="AWS region (default: the environment's)")
    command.add_argument("--profile", help="AWS profile (default: the environment's)")
    command.add_argument("--local", action="store_true", help="the running `make local` instead of AWS")
    command.add_argument(
        "--cdk-out", type=Path, default=Path("cdk.out"), help="the local run's cloud assembly"
    )
    command.add_argument("--port", type=int, help="the local run's port, when several are active")
    return parser.parse_args(argv)


def local_clients(state: dict[str, Any]) -> Clients:
    """Clients for a local run, from its state file: moto for SQS and streams, the run's Lambda API."""
    options: dict[str, Any] = {
        "region_name": state["region"],
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
        "config": Config(retries={"max_attempts": 1}, read_timeout=900),
    }
    if LOCAL_LAMBDA_STATE not in state:
        raise ValueError("the local run serves no Lambda API: restart it with this version of constructs_lib")
    return Clients(
        sqs=boto3.client("sqs", endpoint_url=state["aws"], **options),
        lambda_=boto3.client("lambda", endpoint_url=state[LOCAL_LAMBDA_STATE], **options),
        dynamodbstreams=boto3.client("dynamodbstreams", endpoint_url=state["aws"], **options),
        kinesis=boto3.client("kinesis", endpoint_url=state["aws"], **options),
        move_task=False,  # moto has no StartMessageMoveTask: the receive, send, delete loop instead
    )


def aws_clients(region: str | None, profile: str | None) -> Clients:
    session = boto3.Session(region_name=region, profile_name=profile)
    config = Config(read_timeout=900, retries={"mode": "standard"})  # a function may run 15 minutes
    return Clients(
        sqs=session.client("sqs"),
        lambda_=session.client("lambda", config=config),
        dynamodbstreams=session.client("dynamodbstreams"),
        kinesis=session.client("kinesis"),
    )


def main(argv: list[str] | None = None, *, stdin: Any = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    stdin = stdin or sys.stdin
    try:
        if arguments.local:
            from constructs_lib.local._state import read_state  # noqa: PLC0415 - only for --local

            clients = local_clients(read_state(arguments.cdk_out, arguments.port))
        else:
            clients = aws_clients(arguments.region, arguments.profile)
        chosen = plan(clients, arguments.queue)
        print(f"{arguments.queue}: {chosen.describe()}")
        if chosen.messages == 0:
            return 0
        if not arguments.yes:
            if not stdin.isatty():
                print("not a terminal: pass --yes to re-drive without confirmation", file=sys.stderr)
                return 2
            print("Re-drive them? [y/N] ", end="", flush=True)
            if stdin.readline().strip().lower() not in ("y", "yes"):
                print("nothing changed")
                return 1
        report = redrive(clients, chosen, to=arguments.to, visibility_timeout=arguments.visibility_timeout)
    except (ClientError, BotoCoreError, FileNotFoundError, ValueError) as error:
        print(f"redrive failed: {error}", file=sys.stderr)
        return 1
    for line in report.lines:
        print(line)
    print(report.summary())
    return 0 if not report.kept else 3


if __name__ == "__main__":
    sys.exit(main())
