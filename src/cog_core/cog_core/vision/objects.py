"""The per-object table: the height and footprint of each object the localizer may look for.

A lab writes one YAML file for its objects (metres)::

    objects:
      cube:   {height: 0.04, size: 0.04}   # size: footprint diameter (or side)
      bottle: {height: 0.09, size: 0.06}

and names the object to find (`cogrl localize --objects objects.yaml --object bottle`, or
`LocalizerConfig.objects_file` / `object_name`). The height matters most: the localizer puts
the object's centre on its camera ray at half the height, so a wrong height moves the answer
along the ray by about (height error / 2) / tan(camera elevation).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from cog_core.vision.silhouette import ObjectShape


class ObjectTableError(ValueError):
    """An objects file or object name that cannot be used, with the reason and the fix."""


_LAYOUT = "expected 'objects:' mapping names to {height: METRES, size: METRES}, see docs/calibration.md"


def load_object_table(path: str | Path) -> dict[str, ObjectShape]:
    """Read an objects YAML file into {name: ObjectShape}."""
    path = Path(path)
    if not path.is_file():
        raise ObjectTableError(f"objects file {path} does not exist; {_LAYOUT}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ObjectTableError(f"objects file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("objects"), dict) or not data["objects"]:
        raise ObjectTableError(f"objects file {path}: {_LAYOUT}")
    table: dict[str, ObjectShape] = {}
    for name, entry in data["objects"].items():
        if not isinstance(entry, dict) or "height" not in entry:
            raise ObjectTableError(f"objects file {path}: object {name!r} needs height (and size), e.g. "
                                   "{height: 0.04, size: 0.04}")
        unknown = sorted(set(entry) - {"height", "size"})
        if unknown:
            raise ObjectTableError(f"objects file {path}: object {name!r} has unknown key(s) {', '.join(unknown)}; "
                                   "use height and size (metres)")
        try:
            height = float(entry["height"])
            size = float(entry.get("size", 0.04))
            if not height > 0:
                raise ValueError
            shape = ObjectShape(height=height, size=size)
        except (TypeError, ValueError):
            raise ObjectTableError(f"objects file {path}: object {name!r} needs positive numbers for height and size "
                                   f"(metres), got {entry}") from None
        if height > 0.5 or size > 0.5:
            raise ObjectTableError(f"objects file {path}: object {name!r} is {height} m tall and {size} m wide; "
                                   "sizes are in metres (0.04 = 4 cm)")
        table[str(name)] = shape
    return table


def lookup(table: dict[str, ObjectShape], name: str, source: str = "the objects file") -> ObjectShape:
    """The shape of object `name`; ObjectTableError naming the known objects when it is missing."""
    if name not in table:
        raise ObjectTableError(f"object {name!r} is not in {source}; known: {', '.join(sorted(table))}")
    return table[name]
