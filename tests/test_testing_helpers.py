"""constructs_lib.testing: the helpers consumer apps test with (their local runs are exercised by
the example app and the quick start in tests/test_packaging.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.testing import LocalApp, app_for_tests, cdk_context, normalize_template

HASH = "0123456789abcdef" * 4


def test_normalize_template_replaces_every_asset_hash_and_nothing_else() -> None:
    template = {
        "Resources": {
            "Fn": {"Properties": {"Code": {"S3Key": f"{HASH}.zip"}, "Handler": "handler.handler"}},
            "Short": {"Properties": {"Name": HASH[:63]}},  # 63 hex digits: not an asset hash
        }
    }
    assert normalize_template(template) == {
        "Resources": {
            "Fn": {"Properties": {"Code": {"S3Key": "<asset-hash>.zip"}, "Handler": "handler.handler"}},
            "Short": {"Properties": {"Name": HASH[:63]}},
        }
    }


def test_app_for_tests_carries_cdk_json_context_as_cdk_synth_does(tmp_path: Path) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps({"app": "python app.py", "context": {"@aws-cdk/core:flag": True, "stage": "dev"}})
    )
    assert cdk_context(cdk_json) == {"@aws-cdk/core:flag": True, "stage": "dev"}
    app = app_for_tests(cdk_json, stage="test")
    assert app.node.try_get_context("@aws-cdk/core:flag") is True
    assert app.node.try_get_context("stage") == "test"  # explicit context wins
    assert app.node.try_get_context("aws:cdk:version-reporting") is False


def test_an_ambiguous_api_name_says_which_exist() -> None:
    urls = {"Stack/Api": "http://127.0.0.1:4000/dev/", "Stack/Admin": "http://127.0.0.1:4001/dev/"}
    assert LocalApp._pick(urls, "Stack/Admin", "REST API") == "http://127.0.0.1:4001/dev/"
    with pytest.raises(KeyError, match=r"name one REST API of the app: Stack/Api, Stack/Admin \(got None\)"):
        LocalApp._pick(urls, None, "REST API")
    assert LocalApp._pick({"Stack/Api": "u"}, None, "REST API") == "u"
