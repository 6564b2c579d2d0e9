"""Config errors a person can act on: jsonargparse's error, a tree of nested messages, read down to one line.

``configs/mine.yaml: data.init_args.batch_sise: unknown option; did you mean batch_size?`` names the
YAML layer that set the key, the full key, what is wrong and, for an
unknown key, the nearest valid one (``difflib``; the valid keys are jsonargparse's own, from the
parser or the class that refused the key). A DataModule's own checks (its ``__init__`` raising) are
named by the key their message starts with.

The tree's shapes (jsonargparse 4): ``Parser key "k":`` and ``Problem with given class_path 'c':``
descend a level; ``Does not validate against any of the Union subtypes`` lists each subtype's error
(the informative one is kept); ``Option 'k' is not accepted``, ``Group 'g' does not accept option
'k'``, ``Not of type T: ...`` and ``Expected a T. Got value: v`` are the leaves.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import ArgumentParser, Namespace

from gatelab.errors import ConfigError
from gatelab.settings import SearchParam

__all__ = ["Problem", "Source", "config_error", "config_sources", "entry_name", "read_error", "source_of",
           "suggestion"]


@dataclass(frozen=True)
class Source:
    """One layer of settings: a YAML file.

    Args:
        label: what the user calls it: the file's path, relative to the working folder where it lies under it.
        keys: every dotted key it sets, to its value (a list is one value: ``search_space``, ``sweep.cells``).
        error: why the file could not be read as a mapping of keys, or None.
    """

    label: str
    keys: Mapping[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Problem:
    """What jsonargparse refused, read from its error.

    Args:
        path: the full key's segments, e.g. ``["data", "init_args", "batch_sise"]``.
        message: what is wrong, e.g. ``unknown option``.
        unknown: the key is not an option (``path`` names it).
        check: ``message`` is a class's own check (raised in its ``__init__``), starting with a key of its own.
        class_path: the innermost class being built, if any.
        inner: how many trailing segments of ``path`` lie inside that class's ``init_args``.
    """

    path: list[str] = field(default_factory=list)
    message: str = ""
    unknown: bool = False
    check: bool = False
    class_path: str | None = None
    inner: int = 0

    @property
    def key(self) -> str:
        return ".".join(self.path)

    def line(self, key: str | None = None) -> str:
        """``key: message`` (the key as ``path`` names it where none is given); a class's check goes on as it
        wrote its message after its key (``=0.0: ...``, `` (40.0) ...``)."""
        key = self.key if key is None else key
        if not key:
            return self.message
        return f"{key}{self.message if self.message.startswith(('=', ' (', ':')) else f': {self.message}'}"


def config_sources(files: Sequence[Path]) -> list[Source]:
    """The YAML layers in the order they apply (a file that is not a mapping of keys carries its ``error``)."""
    return [_read_file(path) for path in files]


def config_error(error: Exception, parser: ArgumentParser, sources: Sequence[Source] = (),
                 cfg: Namespace | None = None) -> ConfigError:
    """One line for a parse, validation or instantiation error of ``parser``.

    Args:
        error: what jsonargparse raised.
        parser: the parser the config was checked against (its keys are the valid ones).
        sources: the layers that were merged (to name where a key came from); none: not named.
        cfg: the parsed config, where the error came from building its objects (to find a check's key).
    """
    broken = next((source for source in sources if source.error), None)
    if broken is not None:
        return ConfigError(f"{broken.label}: {broken.error}")
    problem = read_error(error)
    if problem.check and cfg is not None:
        problem = _check_key(problem, cfg)
    if problem.unknown:
        problem = _with_suggestion(problem, parser)
    if problem.path[:1] == ["search_space"]:
        return _search_space_error(problem, sources)
    label, key = source_of(problem.key, sources)
    return ConfigError(f"{label + ': ' if label else ''}{problem.line(key)}")


def source_of(key: str, sources: Sequence[Source]) -> tuple[str | None, str]:
    """The label of the last layer that sets ``key`` (or a key above or below it) and the key as that layer
    spells it (``init_args`` may be left out in YAML); where none does (a default), the first layer: the task's
    own file."""
    wanted = _plain(key)
    for source in reversed(sources):
        for spelled in source.keys:
            plain = _plain(spelled)
            if plain == wanted:
                return source.label, spelled
            if plain.startswith(f"{wanted}.") or wanted.startswith(f"{plain}."):
                return source.label, key
    return (sources[0].label if sources else None), key


def read_error(error: Exception) -> Problem:
    """The problem jsonargparse's message describes (see the module's docstring for its shapes)."""
    return _read(str(error).strip().splitlines(), given=None)


def _read(lines: list[str], given: str | None) -> Problem:
    lines = textwrap.dedent("\n".join(lines)).splitlines()
    head, body = (lines[0].strip() if lines else ""), lines[1:]
    if match := re.fullmatch(r'Parser key "([^"]+)":', head):
        return _nested(_read(body, None), match[1].split("."))
    if match := re.fullmatch(r"Problem with given class_path '([^']+)':", head):
        inner = _read(body, None)
        if inner.check and not inner.path:  # the class itself: no such module or name
            return Problem(["class_path"], f": {match[1]}: {inner.message}")
        if inner.class_path is None:  # the innermost class: the path so far lies in its init_args
            inner = replace(inner, class_path=match[1], inner=len(inner.path))
        return _nested(inner, ["init_args"])
    if head == "Does not validate against any of the Union subtypes":
        return _read_union(body)
    if match := re.fullmatch(r"Group '([^']+)' does not accept option '([^']+)'", head):
        return Problem([*match[1].split("."), *match[2].split(".")], "unknown option", unknown=True)
    if match := re.fullmatch(r"Option '([^']+)' is not accepted", head):
        return Problem(match[1].split("."), "unknown option", unknown=True)
    if match := re.fullmatch(r"Not of type (\w+): (.*)", " ".join(line.strip() for line in lines)):
        return Problem(message=_not_of_type(match[1], match[2], given))
    if match := re.fullmatch(r"Expected an? (.+?)\. Got value: (.*)", head):
        return Problem(message=_expected(match[1], match[2]))
    if match := re.fullmatch(r"Expected (?:an? )?<class '([\w.]+)'>", head):
        return Problem(message=f"expected {match[1]}{f', got {given}' if given is not None else ''}")
    return Problem(message=" ".join(" ".join(lines).split()), check=True)


def _nested(inner: Problem, prefix: list[str]) -> Problem:
    """``inner`` seen from one level up: ``prefix`` goes before its path."""
    return replace(inner, path=[*prefix, *inner.path])


def _read_union(body: list[str]) -> Problem:
    """The informative error among a Union's subtypes: the class that was given, else the first not merely
    saying the value is of another type."""
    items: list[list[str]] = []
    given, subtypes, item_indent = None, [], None
    for line in body:
        stripped = line.strip()
        if stripped.startswith("- ") and (item_indent is None or _indent(line) == item_indent):
            item_indent = _indent(line)
            items.append([line.replace("- ", "  ", 1)])
        elif item_indent is not None and _indent(line) > item_indent:
            items[-1].append(line)
        elif stripped.startswith("Given value: "):
            given = stripped.removeprefix("Given value: ")
        elif stripped.startswith("Subtypes: "):
            subtypes = _type_names(stripped.removeprefix("Subtypes: "))
    uninformative = re.compile(r"Expected (an? )?<class |Expected an? typing\.Literal\[[^\]]*\]$|"
                               r"Import path \S+ does not correspond to a subclass")
    informative = [item for item in items if not uninformative.match(item[0].strip())]
    chosen = next((item for item in informative if item[0].strip().startswith("Problem with given class_path")),
                  informative[0] if informative else None)
    if chosen is None:
        names = " or ".join(name for name in subtypes if name != "NoneType") or "another type"
        return Problem(message=f"expected {names}, got {given}")
    problem = _read(chosen, given)
    if problem.check and problem.class_path is None and given:
        built = re.match(r"Namespace\(class_path='([^']+)'", given)
        if built:
            return replace(problem, class_path=built[1])
    return problem


def _type_names(listed: str) -> list[str]:
    """``[<class 'int'>, typing.Literal['auto'], list[str]]`` -> ``["int", "'auto'", "list[str]"]``."""
    names, depth, start = [], 0, 1
    for index, char in enumerate(listed):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if (char == "," and depth == 1) or (char == "]" and depth == 0):
            name = listed[start:index].strip()
            named = re.fullmatch(r"<class '(?:[\w.]+\.)?(\w+)'>|typing\.Literal\[(.*)\]", name)
            names.append((named[1] or named[2]) if named else name)
            start = index + 1
    return names


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _not_of_type(kind: str, detail: str, given: str | None) -> str:
    """``Not of type PositiveInt: 0 does not conform to restriction v>0`` -> ``0 must be > 0 (PositiveInt)``."""
    if match := re.fullmatch(r"(.*?) ?does not conform to restriction (.+)", detail):
        bounds = [re.fullmatch(r"v([<>=!]+)(.+)", part.strip()) for part in match[2].split(" and ")]
        rule = " and ".join(f"{bound[1]} {bound[2]}" if bound else "" for bound in bounds)
        return f"{match[1] or given or 'the value'} must be {rule} ({kind})"
    return f"expected {kind}" + (f", got {given}" if given is not None else f" ({detail})")


def _expected(kind: str, value: str) -> str:
    """``Expected a typing.Literal['a', 'b']. Got value: c`` -> ``'c' is not one of a, b`` (and the nearest)."""
    if match := re.fullmatch(r"typing\.Literal\[(.*)\]", kind):
        choices = [str(choice) for choice in ast.literal_eval(f"[{match[1]}]")]
        nearest = difflib.get_close_matches(value, choices, n=1)
        return f"{value!r} is not one of {', '.join(choices)}" + (f"; did you mean {nearest[0]}?" if nearest else "")
    named = re.fullmatch(r"<class '([\w.]+)'>", kind)
    return f"expected {named[1] if named else kind}, got {value}"


def _check_key(problem: Problem, cfg: Namespace) -> Problem:
    """A class's own check names a key of its own at the start of its message (``train_days: ...``,
    ``card_fraction=0.0: ...``, ``preprocess.lowpass_hz (40.0) ...``): that key in full, the rest as the message."""
    scope = problem.path or _located(problem.class_path, cfg)
    token = re.match(r"[A-Za-z_][\w.]*", problem.message)
    if token:
        named = _plain(token[0])
        keys = dict.fromkeys(".".join(key.split(".")[:end]) for key in cfg.keys()  # every leaf and every key above
                             for end in range(1, key.count(".") + 2))
        full = [key for key in keys if _plain(key) == named or _plain(key).endswith(f".{named}")]
        under = [key for key in full if _plain(key).startswith(f"{_plain('.'.join(scope))}.")]
        chosen = (under or full)[:1]
        if chosen:
            return replace(problem, path=chosen[0].split("."), message=problem.message[token.end():])
    return replace(problem, path=scope)


def _located(class_path: str | None, cfg: Namespace) -> list[str]:
    """Where in ``cfg`` the class ``class_path`` is built (its ``class_path`` key's parent); ``[]`` if nowhere."""
    for key in cfg.keys():
        if key.endswith("class_path") and cfg[key] == class_path:
            return key.split(".")[:-1]
    return []


def _with_suggestion(problem: Problem, parser: ArgumentParser) -> Problem:
    """``unknown option; did you mean batch_size?``, from the keys of the class that refused it, else the parser's."""
    if problem.class_path:
        valid = _class_keys(problem.class_path)
        inner = problem.path[len(problem.path) - problem.inner:]
    else:
        valid = [key for key in parser.get_defaults().keys() if key != "config"]
        inner = problem.path
    return replace(problem, message=f"unknown option{suggestion('.'.join(inner), valid)}")


def _class_keys(class_path: str) -> list[str]:
    module, _, name = class_path.rpartition(".")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(getattr(importlib.import_module(module), name))
    return list(parser.get_defaults().keys())


def suggestion(key: str, valid: Sequence[str]) -> str:
    """``; did you mean batch_size?`` for the first segment of ``key`` that no valid key has there (the corrected
    key in full where that segment is not the last), or the valid options there when none is close."""
    options = [_plain(option).split(".") for option in valid]
    plain = _plain(key).split(".")
    for depth, segment in enumerate(plain):
        names = sorted({option[depth] for option in options if len(option) > depth and option[:depth] == plain[:depth]})
        if segment in names:
            continue
        nearest = difflib.get_close_matches(segment, names, n=1)
        if not nearest:
            return f"; valid options here: {', '.join(names)}" if names else ""
        if depth == len(plain) - 1:
            return f"; did you mean {nearest[0]}?"
        return f" '{segment}'; did you mean {'.'.join([*plain[:depth], nearest[0], *plain[depth + 1:]])}?"
    return ""


def _search_space_error(problem: Problem, sources: Sequence[Source]) -> ConfigError:
    """A search-space entry that is not a ``SearchParam``: named by the entry (jsonargparse does not say which)."""
    label, _ = source_of("search_space", sources)
    entries: Any = next((source.keys["search_space"] for source in reversed(sources) if "search_space" in source.keys),
                        [])
    inner = problem.path[len(problem.path) - problem.inner:] if problem.class_path else []
    index = _failing_entry(entries) if isinstance(entries, list) else None
    where = "search_space" if index is None else entry_name(index, entries[index])
    return ConfigError(f"{label + ': ' if label else ''}{problem.line('.'.join([where, *inner]))}")


def entry_name(index: int, entry: Any) -> str:
    """A search-space entry as a message names it: ``search_space[optim.lr]``, or by position when it has no name."""
    name = entry.get("name") if isinstance(entry, Mapping) else getattr(entry, "name", None)
    return f"search_space[{name}]" if isinstance(name, str) else f"search_space[{index}]"


def _failing_entry(entries: list[Any]) -> int | None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--entry", type=SearchParam)
    for index, entry in enumerate(entries):
        try:
            parser.parse_object({"entry": entry})
        except (argparse.ArgumentError, ValueError, TypeError):
            return index
    return None


def _plain(key: str) -> str:
    """A key without its ``init_args`` segments: how YAML may spell it, and how keys are compared."""
    return ".".join(segment for segment in key.split(".") if segment != "init_args")


def _read_file(path: Path) -> Source:
    label = _label(path)
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return Source(label, {}, f"{where}{error.problem} ({error.context or 'not valid YAML'}); fix the YAML syntax.")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return Source(label, {}, f"cannot be read: {error}")
    if values is None:
        return Source(label, {})
    if not isinstance(values, dict):
        return Source(label, {}, f"holds a {type(values).__name__}, where a mapping of keys (model:, data:, ...) "
                                 "is expected.")
    return Source(label, dict(_flat(values)))


def _flat(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for name, value in values.items():
        key = f"{prefix}{name}"
        pairs += _flat(value, f"{key}.") if isinstance(value, Mapping) and value else [(key, value)]
    return pairs


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
