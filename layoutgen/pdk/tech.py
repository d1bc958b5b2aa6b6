"""Process technology facts of one PDK (layers, routing grid, vias, site, DRC rule table), read from
pdk/<name>/{layers,tech,rules}.json. Every length is an integer in nm (1 dbu), every area in nm^2."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PdkError

GdsLayer = tuple[int, int]


@dataclass(frozen=True)
class Layer:
    name: str
    drawing: GdsLayer | None
    pin: GdsLayer | None = None
    label: GdsLayer | None = None
    boundary: GdsLayer | None = None
    color: str = "#808080"
    pattern: str = "hollow"

    def purposes(self) -> dict[str, GdsLayer]:
        out = {"drawing": self.drawing, "pin": self.pin, "label": self.label, "boundary": self.boundary}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class RoutingLayer:
    name: str
    direction: str  # "H" or "V": preferred direction
    pitch_nm: tuple[int, int]  # track pitch along x, along y
    offset_nm: tuple[int, int]
    width_nm: int
    spacing_nm: int
    wide_spacing: tuple[tuple[int, int], ...]  # (width greater than, spacing)
    min_area_nm2: int

    @property
    def track_pitch_nm(self) -> int:
        """Pitch between parallel tracks: horizontal tracks step in y, vertical ones in x."""
        return self.pitch_nm[1] if self.direction == "H" else self.pitch_nm[0]

    @property
    def track_offset_nm(self) -> int:
        return self.offset_nm[1] if self.direction == "H" else self.offset_nm[0]


@dataclass(frozen=True)
class ViaDef:
    name: str
    cut: str
    bottom: str
    top: str
    cut_nm: int  # cuts are exact squares of this size
    spacing_nm: int
    bottom_enclosure_nm: tuple[int, int]  # (all sides, two opposite sides)
    top_enclosure_nm: tuple[int, int]
    bottom_pad_nm: tuple[int, int]  # default pad (x, y) of the tech LEF via
    top_pad_nm: tuple[int, int]


@dataclass(frozen=True)
class Site:
    name: str
    width_nm: int
    height_nm: int


@dataclass(frozen=True)
class TapRules:
    cell_role: str
    max_tap_pitch_nm: int
    latchup_max_distance_nm: int


@dataclass(frozen=True)
class Rule:
    """One DRC rule: `kind` selects the check, `params` its layers and values (nm / nm^2)."""

    id: str
    kind: str
    source: str
    params: dict[str, Any] = field(hash=False, compare=True)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class Tech:
    name: str
    dbu_nm: int
    grid_nm: int
    layers: dict[str, Layer] = field(hash=False)
    routing: dict[str, RoutingLayer] = field(hash=False)
    vias: dict[str, ViaDef] = field(hash=False)
    site: Site
    tap: TapRules
    rules: tuple[Rule, ...]

    def gds(self, layer: str, purpose: str = "drawing") -> GdsLayer:
        try:
            value = self.layers[layer].purposes()[purpose]
        except KeyError:
            raise PdkError(f"{self.name}: no GDS layer for {layer}/{purpose}; see pdk/{self.name}/layers.json") from None
        return value

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise PdkError(f"{self.name}: no DRC rule '{rule_id}' in pdk/{self.name}/rules.json")

    def via_between(self, bottom: str, top: str) -> ViaDef:
        for v in self.vias.values():
            if v.bottom == bottom and v.top == top:
                return v
        raise PdkError(f"{self.name}: no via between {bottom} and {top}")

    def without_rules(self, *rule_ids: str) -> "Tech":
        """A copy lacking some rules (to prove that each rule is what catches its violations)."""
        missing = set(rule_ids) - {r.id for r in self.rules}
        if missing:
            raise PdkError(f"{self.name}: unknown DRC rules {sorted(missing)}")
        keep = tuple(r for r in self.rules if r.id not in rule_ids)
        return Tech(self.name, self.dbu_nm, self.grid_nm, self.layers, self.routing, self.vias, self.site, self.tap, keep)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PdkError(f"PDK data file {path.name} is missing from {path.parent}") from None
    except json.JSONDecodeError as exc:
        raise PdkError(f"{path}: not valid JSON ({exc})") from None


def _pair(value) -> tuple[int, int] | None:
    return None if value is None else (int(value[0]), int(value[1]))


def load_tech(name: str, data_dir: Path) -> Tech:
    layers_doc = _read(data_dir / "layers.json")
    tech_doc = _read(data_dir / "tech.json")
    rules_doc = _read(data_dir / "rules.json")
    try:
        layers = {
            n: Layer(n, _pair(d.get("drawing")), _pair(d.get("pin")), _pair(d.get("label")), _pair(d.get("boundary")),
                     d.get("color", "#808080"), d.get("pattern", "hollow"))
            for n, d in layers_doc["layers"].items()
        }
        routing = {
            d["name"]: RoutingLayer(d["name"], d["direction"], _pair(d["pitch_nm"]), _pair(d["offset_nm"]),
                                    int(d["width_nm"]), int(d["spacing_nm"]),
                                    tuple((int(w["width_gt_nm"]), int(w["spacing_nm"])) for w in d["wide_spacing"]),
                                    int(d["min_area_nm2"]))
            for d in tech_doc["routing"]
        }
        vias = {
            d["name"]: ViaDef(d["name"], d["cut"], d["bottom"], d["top"], int(d["cut_nm"]), int(d["spacing_nm"]),
                              _pair(d["bottom_enclosure_nm"]), _pair(d["top_enclosure_nm"]),
                              _pair(d["bottom_pad_nm"]), _pair(d["top_pad_nm"]))
            for d in tech_doc["vias"]
        }
        site = Site(tech_doc["site"]["name"], int(tech_doc["site"]["width_nm"]), int(tech_doc["site"]["height_nm"]))
        tap = TapRules(tech_doc["tap"]["cell_role"], int(tech_doc["tap"]["max_tap_pitch_nm"]),
                       int(tech_doc["tap"]["latchup_max_distance_nm"]))
        rules = tuple(
            Rule(d["id"], d["kind"], d["source"], {k: v for k, v in d.items() if k not in ("id", "kind", "source")})
            for d in rules_doc["rules"]
        )
        tech = Tech(name, int(tech_doc["dbu_nm"]), int(tech_doc["grid_nm"]), layers, routing, vias, site, tap, rules)
    except (KeyError, TypeError, ValueError) as exc:
        raise PdkError(f"pdk/{name}: malformed technology data ({exc!r}); check layers.json, tech.json, rules.json") from None
    _check_references(tech)
    return tech


def _check_references(tech: Tech) -> None:
    ids = [r.id for r in tech.rules]
    if len(ids) != len(set(ids)):
        raise PdkError(f"pdk/{tech.name}/rules.json: duplicate rule ids")
    for r in tech.rules:
        for key in ("layer", "outer", "inner", "diff", "tap"):
            if key in r.params and r.params[key] not in tech.layers:
                raise PdkError(f"pdk/{tech.name}/rules.json: rule {r.id} names unknown layer '{r.params[key]}'")
    for v in tech.vias.values():
        for n in (v.cut, v.bottom, v.top):
            if n not in tech.layers:
                raise PdkError(f"pdk/{tech.name}/tech.json: via {v.name} names unknown layer '{n}'")
