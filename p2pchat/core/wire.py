"""Wire declarations: a message is declared once, as a Record whose fields each carry a Rule
(and a Wire name); core/wirecodec.py derives its JSON encoding and strict decoding from that.

A field reads `name: Annotated[type, Rule(...), Wire("n")]`. A rule gives the msgspec type of
the field's wire form, with every constraint msgspec checks while it parses (types, ranges,
lengths, regex shapes, list and object sizes), and the conversions between wire form and value
(hex and base64 to bytes, nested records), with the checks only Python can make (nicks, room
names, IP literals). Anything a peer sends that breaks a rule raises ProtocolError.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Callable
from enum import StrEnum
from operator import methodcaller
from types import GenericAlias
from typing import Annotated, Any, ClassVar, Protocol, TypeVar

import msgspec

from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import Limits

R = TypeVar("R", bound="Record")
Convert = Callable[[Any], Any]
Check = Callable[[str, Limits], str]  # returns the value to keep, or raises ProtocolError


class Record(msgspec.Struct, frozen=True, gc=False):
    """Base of every wire record: immutable, and each field annotated with one Rule (and at
    most one Wire). A message also names its type on the wire in WIRE_TYPE."""

    WIRE_TYPE: ClassVar[str]
    OMIT_DEFAULTS: ClassVar[bool] = False  # optional members at their default are left out


def with_fields(record: R, **changes: Any) -> R:
    """A copy of record with the given fields changed (the others as they are)."""
    return msgspec.structs.replace(record, **changes)


@dataclasses.dataclass(frozen=True, slots=True)
class Limit:
    """A bound read from the Limits in force, by field name (which must exist)."""

    name: str

    def __post_init__(self) -> None:
        """Refuse a name that is not a field of Limits (a typo would otherwise pass silently)."""
        if self.name not in {field.name for field in dataclasses.fields(Limits)}:
            raise TypeError(f"Limits has no field {self.name!r}")

    def of(self, limits: Limits) -> int:
        """This bound's value in limits."""
        value = getattr(limits, self.name)
        if type(value) is not int:
            raise TypeError(f"Limits.{self.name} is not an integer")
        return value


Bound = int | Limit


@dataclasses.dataclass(frozen=True, slots=True)
class Wire:
    """A field's member name on the wire (None: the field's name); optional: a frame may leave
    it out, and then the field takes its default."""

    name: str | None = None
    optional: bool = False


OPTIONAL = Wire(optional=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Compiled:
    """One record's wire form (a msgspec struct) and the conversions to and from it."""

    twin: type[msgspec.Struct]
    to_wire: Callable[[Any], msgspec.Struct]
    from_wire: Callable[[msgspec.Struct], Any]


class Context(Protocol):
    """What a rule is compiled under: the Limits in force, and the other records' wire forms."""

    limits: Limits

    def bound(self, bound: Bound) -> int:
        """A bound's value under these limits."""
        ...

    def record(self, cls: type[Record], *, tagged: bool = False) -> Compiled:
        """cls's wire form: a JSON object, with the type member if tagged."""
        ...


class Rule:
    """What one field holds on the wire: a msgspec type with its constraints, and conversions
    from and to the field's value (None: the value as it is), under a Context's limits."""

    def wire_type(self, context: Context) -> Any:
        """The msgspec type (with constraints) of the wire form, under the context's limits."""
        raise NotImplementedError

    def decoder(self, context: Context) -> Convert | None:
        """Wire form to the field's value (raises ProtocolError or ValueError), if they differ."""
        return None

    def encoder(self, context: Context) -> Convert | None:
        """The field's value to its wire form, if they differ."""
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class Int(Rule):
    """A whole number (never a boolean or a float) in [low, high]."""

    low: Bound
    high: Bound

    def wire_type(self, context: Context) -> Any:
        """An int within the bounds."""
        low, high = context.bound(self.low), context.bound(self.high)
        return Annotated[int, msgspec.Meta(ge=low, le=high)]


@dataclasses.dataclass(frozen=True, slots=True)
class Number(Rule):
    """A finite number in [low, high], as a float (a whole number is taken too)."""

    low: float
    high: float

    def wire_type(self, context: Context) -> Any:
        """A float within the bounds."""
        return Annotated[float, msgspec.Meta(ge=self.low, le=self.high)]


@dataclasses.dataclass(frozen=True, slots=True)
class Choice(Rule):
    """One of a StrEnum's values (decoded as the member; any other string is refused)."""

    enum: type[StrEnum]

    def wire_type(self, context: Context) -> Any:
        """The enum itself: msgspec takes only its values."""
        return self.enum


@dataclasses.dataclass(frozen=True, slots=True)
class Flag(Rule):
    """true or false."""

    def wire_type(self, context: Context) -> Any:
        """A bool."""
        return bool


@dataclasses.dataclass(frozen=True, slots=True)
class Text(Rule):
    """A string of min_chars to max_chars characters, none of them in the regex class body
    forbidden (all of which must be unprintable); check (if any) vets it further, and gives
    the value to keep."""

    max_chars: Bound
    min_chars: int = 0
    forbidden: str | None = None
    check: Check | None = None

    def wire_type(self, context: Context) -> Any:
        """A str within the lengths."""
        meta = msgspec.Meta(min_length=self.min_chars, max_length=context.bound(self.max_chars))
        return Annotated[str, meta]

    def decoder(self, context: Context) -> Convert | None:
        """The forbidden characters' test, then the check (bound to the context's limits)."""
        check, limits = self.check, context.limits
        bad = None if self.forbidden is None else re.compile(f"[{self.forbidden}]").search
        if bad is None:
            return None if check is None else lambda value: check(value, limits)

        def vetted(value: str) -> str:
            # Most text is printable, and then holds none of them: no need to search.
            if not value.isprintable() and bad(value):
                raise ProtocolError("forbidden characters")
            return value if check is None else check(value, limits)

        return vetted


@dataclasses.dataclass(frozen=True, slots=True)
class Shape(Rule):
    """A string that the regex pattern finds (anchor it: ^...\\Z)."""

    pattern: str

    def wire_type(self, context: Context) -> Any:
        """A str matching the pattern."""
        return Annotated[str, msgspec.Meta(pattern=self.pattern)]


@dataclasses.dataclass(frozen=True, slots=True)
class Hex(Rule):
    """Bytes of exactly size bytes, as lowercase hex; or_empty: b"" too (as "")."""

    size: int
    or_empty: bool = False

    def wire_type(self, context: Context) -> Any:
        """A str of 2 * size characters (or none, if or_empty)."""
        low = 0 if self.or_empty else 2 * self.size
        return Annotated[str, msgspec.Meta(min_length=low, max_length=2 * self.size)]

    def decoder(self, context: Context) -> Convert | None:
        """Hex to bytes: only lowercase hex digits, nothing between them (faster than a regex)."""
        sizes = (0, self.size) if self.or_empty else (self.size,)

        def from_hex(text: str) -> bytes:
            data = bytes.fromhex(text)  # ValueError if not hex; it allows spaces and capitals
            if len(data) not in sizes or data.hex() != text:
                raise ProtocolError(f"not {2 * self.size} lowercase hex characters")
            return data

        return from_hex

    def encoder(self, context: Context) -> Convert | None:
        """Bytes to hex."""
        return methodcaller("hex")


@dataclasses.dataclass(frozen=True, slots=True)
class Base64(Rule):
    """Bytes as standard base64 (padded) of at most max_chars characters."""

    max_chars: int

    def wire_type(self, context: Context) -> Any:
        """A str of at most max_chars characters."""
        return Annotated[str, msgspec.Meta(max_length=self.max_chars)]

    def decoder(self, context: Context) -> Convert | None:
        """Base64 to bytes (only the base64 alphabet; binascii.Error is a ValueError)."""
        return lambda text: base64.b64decode(text, validate=True)

    def encoder(self, context: Context) -> Convert | None:
        """Bytes to base64."""
        return lambda data: base64.b64encode(data).decode("ascii")


@dataclasses.dataclass(frozen=True, slots=True)
class Many(Rule):
    """A list of at most max_items records (objects without a type member), as a tuple."""

    record: type[Record]
    max_items: Bound

    def wire_type(self, context: Context) -> Any:
        """An array of the record's wire form, within the size."""
        items = GenericAlias(tuple, (context.record(self.record).twin, ...))
        return Annotated[items, msgspec.Meta(max_length=context.bound(self.max_items))]

    def decoder(self, context: Context) -> Convert | None:
        """Each item to a record."""
        from_wire = context.record(self.record).from_wire
        return lambda items: tuple(map(from_wire, items))

    def encoder(self, context: Context) -> Convert | None:
        """Each record to its wire form."""
        to_wire = context.record(self.record).to_wire
        return lambda items: tuple(map(to_wire, items))


@dataclasses.dataclass(frozen=True, slots=True)
class Counts(Rule):
    """An object of at most max_items members: keys the regex key_shape finds, values whole
    numbers in [0, high]; as a dict."""

    key_shape: str
    high: Bound
    max_items: Bound

    def wire_type(self, context: Context) -> Any:
        """A dict of such keys and values, within the size."""
        key = Annotated[str, msgspec.Meta(pattern=self.key_shape)]
        value = Annotated[int, msgspec.Meta(ge=0, le=context.bound(self.high))]
        return Annotated[dict[key, value], msgspec.Meta(max_length=context.bound(self.max_items))]
