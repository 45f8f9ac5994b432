"""Operating an app built with the library: ``python -m constructs_lib.ops`` (redrive).

Runtime code: it never imports the CDK, only boto3.
"""
