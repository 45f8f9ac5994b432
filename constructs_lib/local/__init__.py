"""Run an app built with constructs_lib on this machine, without Docker or an AWS account.

``python -m constructs_lib.local`` (``make local`` in the reference app) reads the synthesized cloud
assembly and serves it: see `constructs_lib.local.runner.LocalRunner`. Needs the ``local`` extra
(``pip install constructs_lib[local]``).
"""
