"""Runtime helpers for Lambda handlers: no CDK imports."""
