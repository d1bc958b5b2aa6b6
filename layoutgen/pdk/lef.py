"""A small LEF reader for standard-cell abstracts: MACRO SIZE, PIN (DIRECTION, USE, PORT rectangles per
layer) and OBS rectangles. Coordinates become integer nm (LEF DATABASE MICRONS 1000 = 1 nm grid).

Only what the placer and router need is kept; geometry statements other than RECT (POLYGON, VIA) raise,
so a cell we cannot represent is never silently half-read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import PdkError

_TOKEN = re.compile(r'"[^"]*"|[^\s;]+|;')


@dataclass(frozen=True)
class Rect:
    layer: str
    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class LefPin:
    name: str
    direction: str  # INPUT / OUTPUT / INOUT
    use: str  # SIGNAL / POWER / GROUND / CLOCK
    shapes: tuple[Rect, ...]

    def on_layer(self, layer: str) -> tuple[Rect, ...]:
        return tuple(r for r in self.shapes if r.layer == layer)


@dataclass(frozen=True)
class LefMacro:
    name: str
    width_nm: int
    height_nm: int
    site: str | None
    pins: dict[str, LefPin]
    obs: tuple[Rect, ...]


def _nm(text: str, where: str) -> int:
    try:
        value = Decimal(text) * 1000
    except InvalidOperation:
        raise PdkError(f"{where}: expected a number, got '{text}'") from None
    if value != value.to_integral_value():
        raise PdkError(f"{where}: coordinate {text} is not on the 1 nm grid")
    return int(value)


class _Tokens:
    def __init__(self, text: str, source: str):
        # comments run from '#' to the end of the line
        text = re.sub(r"#[^\n]*", "", text)
        self.toks = _TOKEN.findall(text)
        self.i = 0
        self.source = source

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> str:
        if self.i >= len(self.toks):
            raise PdkError(f"{self.source}: unexpected end of LEF")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def statement(self) -> list[str]:
        """Tokens up to (not including) the next ';'."""
        out = []
        while (tok := self.next()) != ";":
            out.append(tok)
        return out

    def skip_block(self, name: str) -> None:
        """Skip to `END name`."""
        while True:
            tok = self.next()
            if tok == "END" and self.peek() == name:
                self.next()
                return


def _read_rects(toks: _Tokens, where: str, stop: str) -> tuple[Rect, ...]:
    rects: list[Rect] = []
    layer: str | None = None
    while True:
        tok = toks.peek()
        if tok == stop:
            toks.next()
            return tuple(rects)
        stmt = toks.statement()
        if not stmt:
            continue
        key = stmt[0]
        if key == "LAYER":
            layer = stmt[1]
        elif key == "RECT":
            if layer is None:
                raise PdkError(f"{where}: RECT before any LAYER")
            nums = [s for s in stmt[1:] if s != "MASK"]
            if len(nums) != 4:
                raise PdkError(f"{where}: RECT needs 4 numbers, got {' '.join(stmt)}")
            x0, y0, x1, y1 = (_nm(n, where) for n in nums)
            rects.append(Rect(layer, min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        elif key in ("POLYGON", "VIA"):
            raise PdkError(f"{where}: LEF {key} geometry is not supported by layoutgen's LEF reader")
        elif key in ("CLASS", "WIDTH", "SPACING", "DESIGNRULEWIDTH"):
            continue
        else:
            raise PdkError(f"{where}: unexpected '{' '.join(stmt)}' in geometry")


def _read_pin(toks: _Tokens, name: str, where: str) -> LefPin:
    direction, use = "INOUT", "SIGNAL"
    shapes: list[Rect] = []
    while True:
        tok = toks.next()
        if tok == "END":
            if toks.next() != name:
                raise PdkError(f"{where}: PIN {name} not closed by END {name}")
            return LefPin(name, direction, use, tuple(shapes))
        if tok == "PORT":
            shapes.extend(_read_rects(toks, f"{where} PIN {name}", "END"))
            continue
        rest = toks.statement()
        if tok == "DIRECTION":
            direction = rest[0]
        elif tok == "USE":
            use = rest[0]


def _read_macro(toks: _Tokens, name: str) -> LefMacro:
    where = f"{toks.source} MACRO {name}"
    size = None
    site = None
    pins: dict[str, LefPin] = {}
    obs: tuple[Rect, ...] = ()
    while True:
        tok = toks.next()
        if tok == "END":
            if toks.next() != name:
                raise PdkError(f"{where}: not closed by END {name}")
            break
        if tok == "PIN":
            pin_name = toks.next()
            pins[pin_name] = _read_pin(toks, pin_name, where)
        elif tok == "OBS":
            obs = obs + _read_rects(toks, f"{where} OBS", "END")
        else:
            rest = toks.statement()
            if tok == "SIZE":
                if len(rest) != 3 or rest[1] != "BY":
                    raise PdkError(f"{where}: malformed SIZE")
                size = (_nm(rest[0], where), _nm(rest[2], where))
            elif tok == "SITE":
                site = rest[0]
    if size is None:
        raise PdkError(f"{where}: no SIZE")
    return LefMacro(name, size[0], size[1], site, pins, obs)


def parse_lef(text: str, source: str = "<lef>") -> dict[str, LefMacro]:
    """All MACROs of a LEF text, by name."""
    toks = _Tokens(text, source)
    macros: dict[str, LefMacro] = {}
    while (tok := toks.peek()) is not None:
        toks.next()
        if tok == "MACRO":
            name = toks.next()
            macros[name] = _read_macro(toks, name)
        elif tok in ("SITE", "LAYER", "VIA", "VIARULE", "UNITS", "PROPERTYDEFINITIONS", "SPACING", "NONDEFAULTRULE"):
            block = toks.next() if tok not in ("UNITS", "PROPERTYDEFINITIONS", "SPACING") else tok
            toks.skip_block(block)
        elif tok == "END":
            toks.next()  # END LIBRARY
        else:
            toks.statement()
    return macros


def read_lef(path: Path) -> dict[str, LefMacro]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise PdkError(f"cannot read LEF {path}: {exc.strerror}") from None
    return parse_lef(text, str(Path(path).name))
