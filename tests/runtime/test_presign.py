# boto3 ships no inline types, and boto3-stubs may be absent.
# mypy: disable-error-code="import-untyped"
"""Presigner against moto in server mode, behind a proxy that checks SigV4 query signatures.

moto accepts any signature and ignores expiry, so requests to presigned URLs go through
`SigV4Gate`: it recomputes the signature with the secret of the assumed-role credentials and
refuses (403) a URL whose signature does not match the request or whose expiry has passed,
then forwards the request to moto.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
import requests

from constructs_lib.runtime.presign import Presigner
from tests.moto_server import moto_server
from tests.sigv4 import sigv4_query_problem

BUCKET = "images"
THUMBNAILS = "thumbnails"


class RecordingSts:
    """Wraps an STS client: counts AssumeRole calls and remembers each secret by access key."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0
        self.secrets: dict[str, str] = {}

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        response: dict[str, Any] = self._client.assume_role(**kwargs)
        credentials = response["Credentials"]
        self.secrets[credentials["AccessKeyId"]] = credentials["SecretAccessKey"]
        return response


class FakeSts:
    """Issues credentials that expire `duration` after the injected clock's now."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.calls = 0

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {
            "Credentials": {
                "AccessKeyId": f"ASIAFAKE{self.calls:012d}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": self._clock() + timedelta(seconds=kwargs["DurationSeconds"]),
            }
        }


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class SigV4Gate:
    """An HTTP proxy in front of moto that enforces presigned-URL signatures and expiry."""

    def __init__(self, upstream: str, secrets: dict[str, str]) -> None:
        self.upstream = upstream
        self.secrets = secrets
        self.now = datetime.now(UTC)
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                problem = sigv4_query_problem(self.command, self.path, headers, gate.secrets, gate.now)
                if problem is not None:
                    self.send_response(403)
                    self.end_headers()
                    self.wfile.write(problem.encode())
                    return
                forwarded = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length"}}
                answer = requests.request(
                    self.command, gate.upstream + self.path, data=body, headers=forwarded, timeout=10
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self._relay()

            def do_PUT(self) -> None:
                self._relay()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows failures, not access logs."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=THUMBNAILS)
        yield endpoint


@pytest.fixture(scope="module")
def role_arn(moto_endpoint: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": []}
    arn: str = iam.create_role(RoleName="presign", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return arn


@pytest.fixture
def sts(moto_endpoint: str) -> RecordingSts:
    return RecordingSts(boto3.client("sts", endpoint_url=moto_endpoint, region_name="us-east-1"))


@pytest.fixture
def gate(moto_endpoint: str, sts: RecordingSts) -> Iterator[SigV4Gate]:
    proxy = SigV4Gate(moto_endpoint, sts.secrets)
    yield proxy
    proxy.close()


@pytest.fixture
def presigner(gate: SigV4Gate, sts: RecordingSts, role_arn: str) -> Presigner:
    return Presigner(
        bucket=BUCKET, role_arn=role_arn, region="us-east-1", sts_client=sts, endpoint_url=gate.url
    )


def _object(endpoint: str, key: str, bucket: str = BUCKET) -> bytes | None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_presigned_put_uploads_with_an_http_put(presigner: Presigner, moto_endpoint: str) -> None:
    url = presigner.presigned_put("uploads/cat.jpg", expires_in=300)
    response = requests.put(url, data=b"jpeg bytes", timeout=10)
    assert response.status_code == 200, response.text
    assert _object(moto_endpoint, "uploads/cat.jpg") == b"jpeg bytes"


def test_url_signed_with_assumed_role_credentials(presigner: Presigner, sts: RecordingSts) -> None:
    params = _params(presigner.presigned_put("uploads/a.jpg", expires_in=300))
    (access_key,) = sts.secrets
    assert access_key.startswith("ASIA")  # temporary credentials of the role, not the caller's
    assert params["X-Amz-Credential"].startswith(f"{access_key}/")
    assert params["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    assert params["X-Amz-Expires"] == "300"
    assert "X-Amz-Security-Token" in params


def test_url_for_one_key_cannot_write_another(presigner: Presigner, moto_endpoint: str) -> None:
    url = presigner.presigned_put("uploads/mine.jpg", expires_in=300)
    assert urlsplit(url).path == f"/{BUCKET}/uploads/mine.jpg"
    tampered = url.replace("/uploads/mine.jpg?", "/uploads/theirs.jpg?")
    response = requests.put(tampered, data=b"overwrite", timeout=10)
    assert response.status_code == 403
    assert response.text == "signature mismatch"
    assert _object(moto_endpoint, "uploads/theirs.jpg") is None


def test_bound_content_type_must_be_sent(presigner: Presigner, moto_endpoint: str) -> None:
    url = presigner.presigned_put("uploads/typed.png", expires_in=60, content_type="image/png")
    assert _params(url)["X-Amz-SignedHeaders"] == "content-type;host"
    wrong = requests.put(url, data=b"x", headers={"Content-Type": "text/html"}, timeout=10)
    assert wrong.status_code == 403
    right = requests.put(url, data=b"png", headers={"Content-Type": "image/png"}, timeout=10)
    assert right.status_code == 200
    assert _object(moto_endpoint, "uploads/typed.png") == b"png"


def test_expired_url_is_refused(presigner: Presigner, gate: SigV4Gate, moto_endpoint: str) -> None:
    url = presigner.presigned_put("uploads/late.jpg", expires_in=60)
    signed_at = datetime.strptime(_params(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    gate.now = signed_at + timedelta(seconds=61)
    assert requests.put(url, data=b"late", timeout=10).status_code == 403
    assert _object(moto_endpoint, "uploads/late.jpg") is None
    gate.now = signed_at + timedelta(seconds=59)
    assert requests.put(url, data=b"on time", timeout=10).status_code == 200


def test_presigned_get_downloads(presigner: Presigner, moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.put_object(Bucket=THUMBNAILS, Key="thumbnails/cat.jpg", Body=b"small")
    url = presigner.presigned_get("thumbnails/cat.jpg", expires_in=600, bucket=THUMBNAILS)
    assert urlsplit(url).path == f"/{THUMBNAILS}/thumbnails/cat.jpg"
    response = requests.get(url, timeout=10)
    assert (response.status_code, response.content) == (200, b"small")


def test_presigned_post_limits_size_and_type(presigner: Presigner, moto_endpoint: str) -> None:
    post = presigner.presigned_post(
        "uploads/form.jpg", expires_in=120, max_bytes=1024, min_bytes=10, content_type="image/jpeg"
    )
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert ["content-length-range", 10, 1024] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert {"key": "uploads/form.jpg"} in policy["conditions"]
    # moto checks neither policy nor signature: the form posts straight to it.
    response = requests.post(
        post["url"].replace(urlsplit(post["url"]).netloc, urlsplit(moto_endpoint).netloc),
        data=post["fields"],
        files={"file": ("form.jpg", b"0123456789ab", "image/jpeg")},
        timeout=10,
    )
    assert response.status_code in (200, 204), response.text
    assert _object(moto_endpoint, "uploads/form.jpg") == b"0123456789ab"


def test_role_assumed_once_across_calls(presigner: Presigner, sts: RecordingSts) -> None:
    urls = [presigner.presigned_put(f"uploads/{n}.jpg", expires_in=60) for n in range(3)]
    urls.append(presigner.presigned_get("uploads/0.jpg", expires_in=60))
    assert sts.calls == 1
    assert len({_params(url)["X-Amz-Credential"].split("/")[0] for url in urls}) == 1


def test_credentials_refreshed_refresh_margin_before_expiry() -> None:
    clock = FakeClock()
    sts = FakeSts(clock)
    presigner = Presigner(
        bucket=BUCKET,
        role_arn="arn:aws:iam::123456789012:role/presign",
        region="us-east-1",
        session_duration_seconds=900,
        refresh_margin_seconds=60,
        sts_client=sts,
        clock=clock,
    )

    def access_key() -> str:
        return _params(presigner.presigned_put("uploads/a.jpg", expires_in=30))["X-Amz-Credential"][:20]

    assert access_key() == "ASIAFAKE000000000001"
    clock.now += timedelta(seconds=839)  # 61 s left: still more than the margin
    assert access_key() == "ASIAFAKE000000000001"
    assert sts.calls == 1
    clock.now += timedelta(seconds=1)  # exactly the margin left: refresh
    assert access_key() == "ASIAFAKE000000000002"
    assert sts.calls == 2
    clock.now += timedelta(seconds=100)
    assert access_key() == "ASIAFAKE000000000002"
    assert sts.calls == 2


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_STORE_THUMBNAIL_BUCKET", "thumbs")
    monkeypatch.setenv("IMAGE_STORE_PRESIGN_ROLE_ARN", "arn:aws:iam::123456789012:role/presign")
    monkeypatch.setenv("IMAGE_STORE_ALLOWED_CONTENT_TYPES", "image/jpeg,image/png")
    presigner = Presigner.from_environment("IMAGE_STORE_THUMBNAIL_BUCKET")
    assert (presigner.bucket, presigner.role_arn) == ("thumbs", "arn:aws:iam::123456789012:role/presign")
    assert presigner.session_duration_seconds == 3600
    assert presigner.allowed_content_types == ("image/jpeg", "image/png")
    assert presigner.region == "us-east-1"


def test_from_environment_names_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMAGE_STORE_BUCKET", raising=False)
    monkeypatch.delenv("IMAGE_STORE_PRESIGN_ROLE_ARN", raising=False)
    with pytest.raises(ValueError, match="IMAGE_STORE_BUCKET, IMAGE_STORE_PRESIGN_ROLE_ARN not set"):
        Presigner.from_environment()


def _offline_presigner(**overrides: Any) -> Presigner:
    clock = FakeClock()
    props: dict[str, Any] = {
        "bucket": BUCKET,
        "role_arn": "arn:aws:iam::123456789012:role/presign",
        "sts_client": FakeSts(clock),
        "clock": clock,
        **overrides,
    }
    return Presigner(**props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"bucket": ""}, "bucket: is empty"),
        ({"role_arn": "presign"}, "role_arn: 'presign' is not a role ARN"),
        ({"session_duration_seconds": 600}, "session_duration_seconds: 600 is outside STS's 900-43200"),
        ({"refresh_margin_seconds": 900}, "refresh_margin_seconds: 900 must be 0 or more and shorter"),
    ],
)
def test_invalid_settings_raise(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _offline_presigner(**props)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.presigned_put("uploads/a", expires_in=0), "expires_in 0 must be 1 to 900 seconds"),
        (lambda p: p.presigned_get("uploads/a", expires_in=901), "expires_in 901 must be 1 to 900 seconds"),
        (lambda p: p.presigned_put("", expires_in=60), "key must be 1 to 1024 bytes, got 0"),
        (
            lambda p: p.presigned_post("uploads/a", expires_in=60, max_bytes=5, min_bytes=6),
            "min_bytes 6 and max_bytes 5 must satisfy",
        ),
    ],
)
def test_invalid_requests_raise(call: Any, message: str) -> None:
    presigner = _offline_presigner()
    with pytest.raises(ValueError, match=message):
        call(presigner)
    assert presigner._sts.calls == 0  # nothing is signed or assumed for a bad request


def test_content_type_outside_the_allowed_list_is_refused() -> None:
    presigner = _offline_presigner(allowed_content_types=["image/jpeg"])
    with pytest.raises(ValueError, match="content_type 'text/html' is not allowed; uploads must bind one of"):
        presigner.presigned_put("uploads/a", expires_in=60, content_type="text/html")
    with pytest.raises(ValueError, match="content_type None is not allowed"):
        presigner.presigned_post("uploads/a", expires_in=60, max_bytes=10)
    url = presigner.presigned_put("uploads/a", expires_in=60, content_type="image/jpeg")
    assert _params(url)["X-Amz-SignedHeaders"] == "content-type;host"
