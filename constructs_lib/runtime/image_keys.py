"""Where an ImageStore keeps an image: the upload and thumbnail key rules, in one place.

An upload is ``<upload prefix><image id>`` in the store's bucket; its thumbnail is
``<thumbnail prefix><image id>.jpeg`` in the thumbnail bucket. The thumbnail function writes
there, and the API links to and deletes the same keys. No CDK import: this module runs in Lambda.
"""

from __future__ import annotations

THUMBNAIL_SUFFIX = ".jpeg"  # thumbnails are always re-encoded as JPEG


def upload_key(upload_prefix: str, image_id: str) -> str:
    return upload_prefix + image_id


def thumbnail_key(thumbnail_prefix: str, image_id: str) -> str:
    return thumbnail_prefix + image_id + THUMBNAIL_SUFFIX


def image_id_of(upload_prefix: str, key: str) -> str:
    """The image id of an upload's key (the key without the upload prefix)."""
    return key.removeprefix(upload_prefix)
