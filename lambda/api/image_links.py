"""Presigned URLs for images: the buckets stay private, callers get time-limited links.

Object keys: the upload is IMAGE_STORE_UPLOAD_PREFIX + imageId in IMAGE_STORE_BUCKET, its
thumbnail IMAGE_STORE_THUMBNAIL_PREFIX + imageId + ".jpeg" in IMAGE_STORE_THUMBNAIL_BUCKET.
Lifetimes: IMAGE_STORE_DOWNLOAD_URL_TTL and IMAGE_STORE_UPLOAD_URL_TTL seconds.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.runtime.presign import Presigner


@functools.cache
def presigner() -> Presigner:
    """The container's Presigner: it assumes the presign role once and reuses the session."""
    # Deferred like Powertools (see api_common): only requests need it.
    from constructs_lib.runtime.presign import Presigner  # noqa: PLC0415

    return Presigner.from_environment()


def upload_key(image_id: str) -> str:
    return os.environ["IMAGE_STORE_UPLOAD_PREFIX"] + image_id


def thumbnail_key(image_id: str) -> str:
    return os.environ["IMAGE_STORE_THUMBNAIL_PREFIX"] + image_id + ".jpeg"


def upload_url(image_id: str) -> str:
    """A PUT URL for exactly this image's object."""
    return presigner().presigned_put(
        upload_key(image_id), expires_in=int(os.environ["IMAGE_STORE_UPLOAD_URL_TTL"])
    )


def with_urls(image: Mapping[str, str]) -> dict[str, str]:
    """`image` plus presigned GET URLs of the image (`imageUrl`) and its thumbnail (`thumbnailUrl`)."""
    signer = presigner()
    expires_in = int(os.environ["IMAGE_STORE_DOWNLOAD_URL_TTL"])
    image_id = image["imageId"]
    return {
        **image,
        "imageUrl": signer.presigned_get(upload_key(image_id), expires_in=expires_in),
        "thumbnailUrl": signer.presigned_get(
            thumbnail_key(image_id),
            expires_in=expires_in,
            bucket=os.environ["IMAGE_STORE_THUMBNAIL_BUCKET"],
        ),
    }
