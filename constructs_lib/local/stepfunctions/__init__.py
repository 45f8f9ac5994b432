"""Step Functions workflows of the app, run locally (`service.Workflows`), and their executions listed."""
