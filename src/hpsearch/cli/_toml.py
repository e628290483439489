"""Reading a TOML study file while remembering where each key was written.

``tomllib`` gives values but no positions; :func:`key_lines` finds the line of
every key in the source text, so that a problem can name the file, the line and
the key. :class:`Problems` collects every problem of a file before one
:class:`StudyFileError` reports them all.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hpsearch._errors import HpsearchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KeyPath = tuple[str | int, ...]

_PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_KEY = re.compile(rf"^\s*({_DOTTED})\s*=")


class StudyFileError(HpsearchError, ValueError):
    """A study file cannot be read, or describes a study that cannot run.

    The message names the file, the line and the key of every problem found.
    """


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in re.findall(_PART, dotted))


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line (1-based) where each key path is first written.

    Tables of an array (``[[estimator.steps]]``) are numbered from 0, so the
    second step's ``class`` is ``("estimator", "steps", 1, "class")``.
    """
    lines: dict[KeyPath, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    prefix: KeyPath = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            path = _parts(header.group(2))
            if header.group(1) == "[[":
                index = counts.get(path, 0)
                counts[path] = index + 1
                lines.setdefault(path, number)
                prefix = (*path, index)
            else:
                prefix = path
            lines.setdefault(prefix, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*prefix, *_parts(key.group(1))), number)
    return lines


def dotted(path: KeyPath) -> str:
    """``("estimator", "steps", 1, "class")`` as ``estimator.steps[1].class``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def parse(path: Path, label: str) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """The file's values and the lines of its keys; raises StudyFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyFileError(
            f"The study file must exist; got {label!r}, which does not. "
            "Check the path (it is relative to the current directory)."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyFileError(
            f"The study file must be a readable UTF-8 text file; got {label!r} ({exc})."
        ) from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(
            f"{label} must be valid TOML; it is not: {exc}.{_problem_start(text, exc)}"
            " See https://toml.io for the syntax."
        ) from None
    return values, key_lines(text)


def _problem_start(text: str, exc: Exception) -> str:
    """Where a syntax error starts, when the parser noticed it later.

    An unclosed array is only noticed at the next key or at the end of the
    file. The problem starts at the first statement after the longest run of
    leading lines that parses on its own.
    """
    lines = text.splitlines()
    match = re.search(r"at line (\d+), column \d+", str(exc))
    reported = int(match.group(1)) if match else len(lines)
    start = 1
    for end in range(reported - 1, 0, -1):
        try:
            tomllib.loads("\n".join(lines[:end]))
        except tomllib.TOMLDecodeError:
            continue
        start = end + 1
        break
    while start < len(lines) and lines[start - 1].strip()[:1] in ("", "#"):
        start += 1  # blank lines and comments after the last good statement
    if match and start == reported:
        return ""
    return f" The problem starts at line {start}: {lines[start - 1].strip()!r}."


class Problems:
    """Every problem found in one study file, each with its line."""

    def __init__(self, label: str, lines: Mapping[KeyPath, int]) -> None:
        self.label = label
        self.lines = lines
        self.messages: list[str] = []

    def where(self, path: KeyPath) -> str:
        """``"study.toml, line 12"``: the line of the key or of its nearest parent."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return f"{self.label}, line {self.lines[path[:end]]}"
        return self.label

    def add(self, path: KeyPath, message: str) -> None:
        """Record a problem with the key at ``path``; message starts after the key."""
        self.messages.append(f"{self.where(path)}: {dotted(path)} {message}")

    def add_text(self, path: KeyPath, message: str) -> None:
        """Record a problem whose message names its subject itself."""
        self.messages.append(f"{self.where(path)}: {message}")

    def raise_if_any(self) -> None:
        """Raise one StudyFileError listing every problem recorded so far."""
        if len(self.messages) == 1:
            raise StudyFileError(self.messages[0])
        if self.messages:
            by_line = sorted(self.messages, key=_line_number)
            raise StudyFileError(
                f"{self.label} has {len(self.messages)} problems:\n- "
                + "\n- ".join(by_line)
            )

    def unknown_keys(
        self, table: Mapping[str, Any], path: KeyPath, known: Iterable[str]
    ) -> None:
        """Record every key of ``table`` that is not in ``known``."""
        known = list(known)
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"Did you mean {close[0]!r}? " if close else ""
                where = f"[{dotted(path)}]" if path else "the top level"
                self.add(
                    (*path, key),
                    f"is not a known key; got {key!r}. {hint}Keys allowed in "
                    f"{where}: {', '.join(known)}.",
                )


def _line_number(message: str) -> int:
    match = re.search(r", line (\d+): ", message)
    return int(match.group(1)) if match else 0


def describe(value: Any) -> str:
    """``'small' (str)``: a value and its TOML-facing type."""
    kind = {bool: "boolean", int: "integer", float: "float", str: "string"}.get(
        type(value), "array" if isinstance(value, list) else "table"
    )
    return f"{value!r} ({kind})"
