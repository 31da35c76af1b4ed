"""The per-object table (objects YAML): loading, lookup and the errors a lab meets."""

import pytest

from cog_core.vision import Localizer, LocalizerConfig
from cog_core.vision.objects import ObjectTableError, load_object_table, lookup
from cog_core.vision.silhouette import ObjectShape


def test_table_is_read_and_looked_up(tmp_path):
    f = tmp_path / "objects.yaml"
    f.write_text("objects:\n  cube: {height: 0.04, size: 0.04}\n  bottle: {height: 0.09}\n")
    table = load_object_table(f)
    assert table == {"cube": ObjectShape(0.04, 0.04), "bottle": ObjectShape(0.09, 0.04)}
    assert lookup(table, "bottle").height == 0.09
    with pytest.raises(ObjectTableError, match="known: bottle, cube"):
        lookup(table, "mug")


@pytest.mark.parametrize("text, message", [
    (None, "does not exist"),
    ("objects: [", "not valid YAML"),
    ("cube: {height: 0.04}", "expected 'objects:'"),
    ("objects:\n  cube: {size: 0.04}", "needs height"),
    ("objects:\n  cube: {height: 0.04, colour: red}", "unknown key"),
    ("objects:\n  cube: {height: -1}", "positive numbers"),
    ("objects:\n  cube: {height: 4, size: 4}", "sizes are in metres"),
])
def test_bad_tables_say_what_is_wrong(tmp_path, text, message):
    f = tmp_path / "objects.yaml"
    if text is not None:
        f.write_text(text)
    with pytest.raises(ObjectTableError, match=message):
        load_object_table(f)


def test_localizer_takes_the_named_object(table_scene, tmp_path):
    f = tmp_path / "objects.yaml"
    f.write_text("objects:\n  bottle: {height: 0.09, size: 0.06}\n")
    loc = Localizer(table_scene.camera, LocalizerConfig(objects_file=str(f), object_name="bottle"))
    assert loc.shape == ObjectShape(0.09, 0.06)
    with pytest.raises(ObjectTableError, match="not in"):
        Localizer(table_scene.camera, LocalizerConfig(objects_file=str(f), object_name="cube"))
    with pytest.raises(ValueError, match="needs objects_file"):
        Localizer(table_scene.camera, LocalizerConfig(object_name="bottle"))
