"""cog_core.stations.policy_meta: the exported policy.json, read through one typed loader."""

from __future__ import annotations

import json

import pytest

from cog_core.rl.config import TrainConfig
from cog_core.rl.export import policy_metadata
from cog_core.stations.policy_meta import (
    EXPORT_FORMAT,
    META_FILE,
    WEIGHTS_FILE,
    PolicyMetadata,
    check_policy_metadata,
    metadata_summary,
)


def _export(tmp_path, obs="image+state"):
    cfg = TrainConfig(obs=obs, algo="cog")
    spec = {"image_size": 48, "vec_key": "state", "vec_dim": 9, "action_dim": 8}
    doc = policy_metadata(cfg, spec, 123, {"run": "test"})
    (tmp_path / META_FILE).write_text(json.dumps(doc))
    (tmp_path / WEIGHTS_FILE).write_bytes(b"")
    return doc


def test_what_export_writes_loads_typed(tmp_path):
    doc = _export(tmp_path)
    meta = PolicyMetadata.load(tmp_path)
    assert meta.format == EXPORT_FORMAT and meta.obs.keys == ("image", "state") and meta.obs.image_size == 48
    assert meta.obs.vec_dim == 9 and meta.action.dim == 8 and meta.action.range == (-1.0, 1.0)
    assert meta.algo == "cog" and meta.provenance["step"] == 123
    assert check_policy_metadata(meta, image_size=48) == check_policy_metadata(doc, image_size=48) == []
    assert json.loads(metadata_summary(doc)) == {"obs": ["image", "state"], "image_size": 48, "action_dim": 8,
                                                 "algo": "cog", "step": 123}


def test_not_an_export_or_another_format_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a policy export"):
        PolicyMetadata.load(tmp_path)
    doc = _export(tmp_path)
    (tmp_path / META_FILE).write_text(json.dumps({**doc, "format": "something/9"}))
    with pytest.raises(ValueError, match="format 'something/9'"):
        PolicyMetadata.load(tmp_path)


def test_missing_sections_read_as_empty():
    meta = PolicyMetadata.from_dict({})
    assert meta.obs.keys == () and meta.action.dim is None and meta.algo == "unknown"
