"""KLayout layer-properties (.lyp) text for a PDK's GDS layers, so layouts open readable in KLayout."""
from __future__ import annotations

from xml.sax.saxutils import escape

from .tech import Tech

# KLayout's built-in stipple indices
_DITHER = {"solid": "I0", "hollow": "I1", "dotted": "I2", "left": "I5", "right": "I9", "cross": "I11", "dense": "I3"}
_PURPOSE_ORDER = ("drawing", "pin", "label", "boundary")


def lyp_text(tech: Tech) -> str:
    entries = []
    for layer in tech.layers.values():
        for purpose in _PURPOSE_ORDER:
            gds = layer.purposes().get(purpose)
            if gds is None:
                continue
            # pins: same colour, bold outline; labels and boundaries: outline only
            dither = _DITHER.get(layer.pattern, "I1") if purpose == "drawing" else "I1"
            width = 2 if purpose == "pin" else 1
            entries.append(
                " <properties>\n"
                f"  <frame-color>{layer.color}</frame-color>\n"
                f"  <fill-color>{layer.color}</fill-color>\n"
                "  <frame-brightness>0</frame-brightness>\n"
                "  <fill-brightness>0</fill-brightness>\n"
                f"  <dither-pattern>{dither}</dither-pattern>\n"
                "  <line-style/>\n"
                "  <valid>true</valid>\n"
                "  <visible>true</visible>\n"
                "  <transparent>false</transparent>\n"
                f"  <width>{width}</width>\n"
                "  <marked>false</marked>\n"
                "  <xfill>false</xfill>\n"
                "  <animation>0</animation>\n"
                f"  <name>{escape(layer.name)}.{purpose} {gds[0]}/{gds[1]}</name>\n"
                f"  <source>{gds[0]}/{gds[1]}@1</source>\n"
                " </properties>\n"
            )
    return '<?xml version="1.0" encoding="utf-8"?>\n<layer-properties>\n' + "".join(entries) + " <name/>\n</layer-properties>\n"
