"""cdk-nag rule packs for apps built with the library."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks


def add_nag_checks(app: App) -> None:
    """Run the AWS Solutions and Serverless cdk-nag packs over every stack of `app` at synth.

    They run as policy-validation plugins, not Aspects, so they also cover stacks inside
    nested `Stage`s. An unacknowledged finding makes `app.synth()` (and `cdk synth`) fail.
    """
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
