"""Lambda function code shipped with the library: one folder per function, no CDK imports."""
