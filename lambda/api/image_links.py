"""Presigned URLs for images: the buckets stay private, callers get time-limited links.

Object keys: the upload is IMAGE_STORE_UPLOAD_PREFIX + imageId in IMAGE_STORE_BUCKET, its
thumbnail IMAGE_STORE_THUMBNAIL_PREFIX + imageId + ".jpeg" in IMAGE_STORE_THUMBNAIL_BUCKET.
Lifetimes: IMAGE_STORE_DOWNLOAD_URL_TTL and IMAGE_STORE_UPLOAD_URL_TTL seconds.
"""

from __future__ import annotations

import functools
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
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common
    from constructs_lib.runtime import image_keys  # noqa: PLC0415 -- deferred: see api_common

    return image_keys.upload_key(env.require(env.IMAGE_STORE_UPLOAD_PREFIX), image_id)


def thumbnail_key(image_id: str) -> str:
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common
    from constructs_lib.runtime import image_keys  # noqa: PLC0415 -- deferred: see api_common

    return image_keys.thumbnail_key(env.require(env.IMAGE_STORE_THUMBNAIL_PREFIX), image_id)


def upload_url(image_id: str) -> str:
    """A PUT URL for exactly this image's object."""
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common

    return presigner().presigned_put(
        upload_key(image_id), expires_in=env.require_int(env.IMAGE_STORE_UPLOAD_URL_TTL)
    )


def with_urls(image: Mapping[str, str]) -> dict[str, str]:
    """`image` plus presigned GET URLs of the image (`imageUrl`) and its thumbnail (`thumbnailUrl`)."""
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common

    signer = presigner()
    expires_in = env.require_int(env.IMAGE_STORE_DOWNLOAD_URL_TTL)
    image_id = image["imageId"]
    return {
        **image,
        "imageUrl": signer.presigned_get(upload_key(image_id), expires_in=expires_in),
        "thumbnailUrl": signer.presigned_get(
            thumbnail_key(image_id),
            expires_in=expires_in,
            bucket=env.require(env.IMAGE_STORE_THUMBNAIL_BUCKET),
        ),
    }
