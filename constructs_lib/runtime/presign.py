# boto3 and botocore ship no inline types, and boto3-stubs may be absent: their imports are Any.
# mypy: disable-error-code="import-untyped"
"""Presigned S3 URLs signed with an ImageStore's presign role, for Lambda handlers.

The handler's own role never signs URLs: `Presigner` assumes the presign role (which may only
put objects under the upload prefix and read the readable prefixes), so a URL can do nothing
else, whatever the handler itself may do. The role is assumed once per container and its
credentials are reused until `refresh_margin_seconds` before they expire.

A presigned URL stops working at its own expiry or when the credentials that signed it expire,
whichever comes first: a URL signed late in a session lives at least `refresh_margin_seconds`.
Set `refresh_margin_seconds` to the longest expiry you sign when every URL must live its full
expiry (at the cost of an STS call every `session_duration_seconds - refresh_margin_seconds`).

No CDK import: only boto3, which the Lambda runtime provides. Clients are created lazily.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from constructs_lib.runtime.environment import (
    IMAGE_STORE_ALLOWED_CONTENT_TYPES,
    IMAGE_STORE_BUCKET,
    IMAGE_STORE_PRESIGN_ROLE_ARN,
)

MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600  # SigV4 rejects presigned URLs valid for longer than 7 days
MIN_SESSION_SECONDS = 900  # STS AssumeRole's shortest session
MAX_SESSION_SECONDS = 43200  # the longest MaxSessionDuration IAM allows on a role
# A Lambda function assumes the presign role from its own role session (role chaining), which STS
# caps at one hour; the ImageStore role allows exactly that.
ENVIRONMENT_SESSION_SECONDS = 3600
MAX_SINGLE_UPLOAD_BYTES = 5 * 1024**3  # S3's limit for one PUT or POST
MAX_KEY_BYTES = 1024  # S3's object key limit (UTF-8)
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")  # characters STS rejects in RoleSessionName


@dataclass(frozen=True)
class _Session:
    s3: Any
    expires_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _default_session_name() -> str:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    return _SESSION_NAME_UNSAFE.sub("-", f"presign-{function_name}")[:64]


class Presigner:
    """Creates presigned PUT, POST and GET requests for one bucket with the presign role.

    With `allowed_content_types` (from_environment reads IMAGE_STORE_ALLOWED_CONTENT_TYPES, see
    ImageStore.content_type_environment) every upload must bind one of those types.

    `sts_client`, `endpoint_url` and `clock` exist for tests and local emulators: by default an
    STS client for `region` is created on first use, S3 URLs use the regional virtual-hosted
    endpoint, and time is the system clock.
    """

    def __init__(
        self,
        *,
        bucket: str,
        role_arn: str,
        region: str | None = None,
        session_duration_seconds: int = 900,
        refresh_margin_seconds: int = 60,
        sts_client: Any = None,
        endpoint_url: str | None = None,
        session_name: str | None = None,
        allowed_content_types: Sequence[str] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        problems = []
        if not bucket:
            problems.append("bucket: is empty; pass the bucket name (IMAGE_STORE_BUCKET)")
        if not role_arn.startswith("arn:"):
            problems.append(f"role_arn: '{role_arn}' is not a role ARN; pass IMAGE_STORE_PRESIGN_ROLE_ARN")
        if not MIN_SESSION_SECONDS <= session_duration_seconds <= MAX_SESSION_SECONDS:
            problems.append(
                f"session_duration_seconds: {session_duration_seconds} is outside STS's "
                f"{MIN_SESSION_SECONDS}-{MAX_SESSION_SECONDS}"
            )
        if not 0 <= refresh_margin_seconds < session_duration_seconds:
            problems.append(
                f"refresh_margin_seconds: {refresh_margin_seconds} must be 0 or more and shorter "
                "than session_duration_seconds"
            )
        if problems:
            raise ValueError("Presigner: " + "; ".join(problems))
        self.bucket = bucket
        self.role_arn = role_arn
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.session_duration_seconds = session_duration_seconds
        self.refresh_margin_seconds = refresh_margin_seconds
        self._sts = sts_client
        self._endpoint_url = endpoint_url
        self._session_name = session_name or _default_session_name()
        self.allowed_content_types = tuple(allowed_content_types) if allowed_content_types else None
        self._clock = clock
        self._session: _Session | None = None
        # Handlers may presign from several threads; one AssumeRole per refresh, not one per thread.
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, bucket_variable: str = IMAGE_STORE_BUCKET) -> Presigner:
        """A Presigner for the bucket named by `bucket_variable` and IMAGE_STORE_PRESIGN_ROLE_ARN.

        Use ``bucket_variable="IMAGE_STORE_THUMBNAIL_BUCKET"`` for the thumbnail bucket. The
        session lasts one hour, the longest a Lambda function may chain a role session.
        """
        missing = [
            name for name in (bucket_variable, IMAGE_STORE_PRESIGN_ROLE_ARN) if not os.environ.get(name)
        ]
        if missing:
            raise ValueError(
                f"Presigner: environment variable(s) {', '.join(missing)} not set; add "
                "ImageStore.runtime_environment to the function's environment"
            )
        content_types = os.environ.get(IMAGE_STORE_ALLOWED_CONTENT_TYPES, "")
        return cls(
            bucket=os.environ[bucket_variable],
            role_arn=os.environ[IMAGE_STORE_PRESIGN_ROLE_ARN],
            session_duration_seconds=ENVIRONMENT_SESSION_SECONDS,
            allowed_content_types=[value for value in content_types.split(",") if value] or None,
        )

    def presigned_put(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        """A URL that uploads exactly `key` with an HTTP PUT until `expires_in` seconds from now.

        With `content_type` the Content-Type header is signed: the upload must send that type.
        """
        self._check_request(key, expires_in)
        self._check_content_type(content_type)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type is not None:
            params["ContentType"] = content_type
        url: str = self._s3().generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
        )
        return url

    def presigned_post(
        self,
        key: str,
        *,
        expires_in: int,
        max_bytes: int,
        min_bytes: int = 1,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """A browser form upload of `key` whose policy limits the body to min_bytes..max_bytes.

        Returns ``{"url": ..., "fields": {...}}``: post the fields, then the file as ``file``.
        """
        self._check_request(key, expires_in)
        self._check_content_type(content_type)
        if not 0 <= min_bytes <= max_bytes <= MAX_SINGLE_UPLOAD_BYTES:
            raise ValueError(
                f"Presigner: min_bytes {min_bytes} and max_bytes {max_bytes} must satisfy "
                f"0 <= min_bytes <= max_bytes <= {MAX_SINGLE_UPLOAD_BYTES} (S3's single-upload limit)"
            )
        fields: dict[str, str] = {}
        conditions: list[Any] = [["content-length-range", min_bytes, max_bytes]]
        if content_type is not None:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        post: dict[str, Any] = self._s3().generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return post

    def presigned_get(self, key: str, *, expires_in: int, bucket: str | None = None) -> str:
        """A URL that downloads `key` (from `bucket`, by default this Presigner's bucket)."""
        self._check_request(key, expires_in)
        url: str = self._s3().generate_presigned_url(
            "get_object", Params={"Bucket": bucket or self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def _check_request(self, key: str, expires_in: int) -> None:
        if not key or len(key.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"Presigner: key must be 1 to {MAX_KEY_BYTES} bytes, got {len(key.encode())}")
        limit = min(MAX_URL_EXPIRY_SECONDS, self.session_duration_seconds)
        if not 1 <= expires_in <= limit:
            raise ValueError(
                f"Presigner: expires_in {expires_in} must be 1 to {limit} seconds: a URL cannot outlive "
                f"the {self.session_duration_seconds} s role session that signs it"
            )

    def _check_content_type(self, content_type: str | None) -> None:
        # S3 has no policy condition on Content-Type: binding it into the signature is the only check.
        if self.allowed_content_types is not None and content_type not in self.allowed_content_types:
            raise ValueError(
                f"Presigner: content_type {content_type!r} is not allowed; uploads must bind one of "
                f"{', '.join(self.allowed_content_types)}"
            )

    def _s3(self) -> Any:
        with self._lock:
            now = self._clock()
            session = self._session
            if session is None or now >= session.expires_at - timedelta(seconds=self.refresh_margin_seconds):
                session = self._session = self._assume_role()
            return session.s3

    def _assume_role(self) -> _Session:
        if self._sts is None:
            self._sts = boto3.client("sts", region_name=self.region, endpoint_url=self._endpoint_url)
        credentials = self._sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=self._session_name,
            DurationSeconds=self.session_duration_seconds,
        )["Credentials"]
        s3 = boto3.client(
            "s3",
            region_name=self.region,
            endpoint_url=self._endpoint_url,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            # SigV4 on the regional virtual-hosted endpoint: a new bucket outside us-east-1 answers
            # the global endpoint with a redirect, which breaks browser CORS requests.
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if self._endpoint_url else "virtual"},
            ),
        )
        return _Session(s3=s3, expires_at=credentials["Expiration"])
