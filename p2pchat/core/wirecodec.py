"""Codecs derived from wire declarations (core/wire.py): compact JSON out, strict msgspec in.

For each Limits in force, every Record gets a twin: a msgspec struct of its wire form, with the
JSON member names, the type member of a message and each rule's constraints, so msgspec
checks while it parses; the rules' conversions then turn the twin into the Record. Encoding
goes the other way, through the same twins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Generic, TypeVar, get_type_hints

import msgspec

from p2pchat.core.errors import LocalProtocolError, ProtocolError
from p2pchat.core.limits import DEFAULT_LIMITS, Limits
from p2pchat.core.wire import Bound, Compiled, Convert, Record, Rule, Wire

TYPE_FIELD = "t"  # the member that names a message's type; its value is the class's WIRE_TYPE
MAX_SHOWN_ERROR_CHARS = 160  # of why a frame was refused (it may quote the frame)
MAX_CACHED_LIMITS = 16  # distinct Limits whose decoders are kept compiled

M = TypeVar("M")


class Codec(Generic[M]):
    """Encodes a set of Records as compact JSON, and decodes them strictly.

    Tagged: each class has a WIRE_TYPE, sent as the "t" member. Untagged: a single class,
    sent as a plain object.
    """

    def __init__(self, classes: Iterable[type[Record]], *, tagged: bool = True) -> None:
        self._classes = tuple(classes)
        self._tagged = tagged
        if not tagged and len(self._classes) != 1:
            raise TypeError("an untagged codec has exactly one class")
        schema = _Schema(DEFAULT_LIMITS)  # encoding does not depend on limits
        self._to_wire: dict[type[Any], Callable[[Any], msgspec.Struct]] = {
            cls: schema.record(cls, tagged=tagged).to_wire for cls in self._classes
        }
        self._encode = msgspec.json.Encoder().encode
        self._last: tuple[Limits, _Decoding] | None = None

    def encode(self, message: M) -> bytes:
        """message as compact UTF-8 JSON (raises LocalProtocolError if it is not one of ours)."""
        to_wire = self._to_wire.get(type(message))
        if to_wire is None:
            raise LocalProtocolError(f"not a message: {message!r}")
        return self._encode(to_wire(message))

    def decode(self, payload: bytes | bytearray, limits: Limits) -> M:
        """Parse and validate payload from a peer; raise ProtocolError if it breaks any rule."""
        last = self._last
        decoding = last[1] if last is not None and last[0] is limits else self._decoding(limits)
        try:
            if not payload.isascii():
                # msgspec checks the UTF-8 of what it decodes, not of the members it skips.
                payload.decode("utf-8")
            wire = decoding.decode(payload)
            message: M = decoding.from_wire[type(wire)](wire)
        except ProtocolError:
            raise
        except (msgspec.MsgspecError, RecursionError, ValueError, TypeError, ArithmeticError) as e:
            # Whatever the frame holds is only this peer's fault; say why, briefly.
            shown = f"{type(e).__name__}: {e}"[:MAX_SHOWN_ERROR_CHARS]
            raise ProtocolError(f"invalid frame: {shown!r}") from None
        return message

    def _decoding(self, limits: Limits) -> _Decoding:
        decoding = _compiled_decoding(self, limits)
        self._last = (limits, decoding)
        return decoding

    def _compile(self, limits: Limits) -> _Decoding:
        schema = _Schema(limits)
        compiled = [schema.record(cls, tagged=self._tagged) for cls in self._classes]
        wire_type: Any = compiled[0].twin
        for other in compiled[1:]:
            wire_type = wire_type | other.twin
        return _Decoding(
            msgspec.json.Decoder(wire_type).decode, {c.twin: c.from_wire for c in compiled}
        )


class _Schema:
    """The wire forms of records under one Limits, compiled as they are first asked for (a
    wire.Context)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._records: dict[tuple[type[Record], bool], Compiled] = {}

    def bound(self, bound: Bound) -> int:
        """A bound's value under these limits."""
        return bound if isinstance(bound, int) else bound.of(self.limits)

    def record(self, cls: type[Record], *, tagged: bool = False) -> Compiled:
        """cls's wire form: a JSON object, with the type member if tagged."""
        key = (cls, tagged)
        compiled = self._records.get(key)
        if compiled is None:
            compiled = self._records[key] = _compile(self, cls, tagged)
        return compiled


@dataclasses.dataclass(frozen=True, slots=True)
class _Decoding:
    decode: Callable[[bytes | bytearray], msgspec.Struct]
    from_wire: dict[type[msgspec.Struct], Callable[[msgspec.Struct], Any]]


@lru_cache(maxsize=MAX_CACHED_LIMITS)
def _compiled_decoding(codec: Codec[Any], limits: Limits) -> _Decoding:
    return codec._compile(limits)


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    rule: Rule
    wire: Wire
    default: Any


def _fields(cls: type[Record]) -> list[_Field]:
    """cls's fields in order, each with its one rule, its Wire and its default."""
    hints = get_type_hints(cls, include_extras=True)
    found = []
    for field in msgspec.structs.fields(cls):
        extras = getattr(hints[field.name], "__metadata__", ())
        rules = [extra for extra in extras if isinstance(extra, Rule)]
        wires = [extra for extra in extras if isinstance(extra, Wire)]
        if len(rules) != 1 or len(wires) > 1:
            raise TypeError(f"{cls.__name__}.{field.name}: one Rule and at most one Wire")
        wire = wires[0] if wires else Wire()
        if wire.optional and field.default is msgspec.NODEFAULT:
            raise TypeError(f"{cls.__name__}.{field.name}: an optional field needs a default")
        found.append(_Field(field.name, rules[0], wire, field.default))
    return found


def _compile(schema: _Schema, cls: type[Record], tagged: bool) -> Compiled:
    fields = _fields(cls)
    decoders = [(i, f.rule.decoder(schema)) for i, f in enumerate(fields)]
    encoders = [(i, f.rule.encoder(schema)) for i, f in enumerate(fields)]
    to_values = [(i, convert) for i, convert in decoders if convert is not None]
    to_wire_values = [(i, convert) for i, convert in encoders if convert is not None]
    members: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for (_, encode), field in zip(encoders, fields, strict=True):
        wire_type = field.rule.wire_type(schema)
        if field.wire.optional:
            default = field.default if encode is None else encode(field.default)
            members.append((field.name, wire_type, default))
        else:
            members.append((field.name, wire_type))
    twin = msgspec.defstruct(
        f"{cls.__name__}Wire",
        members,
        rename={f.name: f.wire.name for f in fields if f.wire.name is not None},
        tag_field=TYPE_FIELD if tagged else None,
        tag=cls.WIRE_TYPE if tagged else None,
        omit_defaults=cls.OMIT_DEFAULTS,
        gc=False,
    )
    return Compiled(twin, _converter(twin, to_wire_values), _converter(cls, to_values))


def _converter(
    target: type[msgspec.Struct], converts: list[tuple[int, Convert]]
) -> Callable[[msgspec.Struct], Any]:
    """From one struct to target, field by field in order, converting some fields."""
    astuple = msgspec.structs.astuple
    if not converts:
        return lambda source: target(*astuple(source))

    def convert(source: msgspec.Struct) -> Any:
        values = list(astuple(source))
        for i, convert_value in converts:
            values[i] = convert_value(values[i])
        return target(*values)

    return convert
