"""Event delivery between the local services and functions: see `router.EventRouter`.

One module per way events travel (a `DeliveryPath`): `s3_notifications`, `sns_subscriptions`,
`async_invocations`, `source_mappings` (with its consumers `dynamodb_streams` and `sqs_queues`).
"""

from constructs_lib.local.events.router import EventRouter

__all__ = ["EventRouter"]
