"""What the commands say about themselves: ``--help`` and bad-option errors.

The options of a command are the fields of its config dataclass
(placer.config), nested dataclasses giving dotted keys (``ppo.num_envs``).
Every description comes from the ``Attributes:`` section of the dataclass's
Google docstring (the one source: a test checks that every field of every
schema has one), every type from its annotation, every default from the
dataclass (the YAML in conf/ holds the same values, also checked by a test),
and the allowed values of a field from ``field(metadata={"choices": ...})`` or
from the ``choices`` a command passes in (e.g. the registered place methods).

Before Hydra runs, :func:`explained` answers ``--help``/``-h`` and checks
the command line: an unknown key gets ``unknown option 'x'; did you mean
'y'?`` and a value of the wrong type one ``error:`` line, both with exit
status 2 (Hydra's own messages would advise ``+key`` and exit 1).
:func:`check_choices` rejects a value outside a field's allowed ones.
With placer.cli, the only module that imports Hydra; nothing here imports
jax.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import shutil
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, OverrideParseException

from placer.compile_cache import enable_compile_cache
from placer.errors import PlacerInputError

EXIT_INPUT_ERROR = 2
MISSING = "???"        # OmegaConf's marker of a required value

# "name: text" or "name_a, name_b: text" at the start of an Attributes entry
_ENTRY = re.compile(r"^(\w+(?:\s*,\s*\w+)*)\s*:\s*(.*)$")
_SECTION = re.compile(r"^(Args|Arguments|Attributes|Returns|Raises|Yields|Note|"
                      r"Notes|Example|Examples|Methods|Properties)\s*:\s*$")
# Hydra flags that change which config is composed: the checks step aside.
_CONFIG_FLAGS = ("-cn", "--config-name", "-cp", "--config-path", "-cd",
                 "--config-dir")
_MULTIRUN_FLAGS = ("-m", "--multirun")


@dataclasses.dataclass(frozen=True)
class Option:
    """One leaf option of a command.

    Attributes:
        key: its dotted key (``ppo.num_envs``).
        type: the value type, as a user would write it (``int or null``).
        default: the default, YAML-like (``required`` when there is none).
        description: the one-line description (first sentence of the docs).
        choices: the allowed values; empty: any value of the type.
    """

    key: str
    type: str
    default: str
    description: str
    choices: tuple[str, ...] = ()


def field_docs(cls: type) -> dict[str, str]:
    """The descriptions in the ``Attributes:`` section of a class's docstring.

    An entry is ``name: text`` (or ``name_a, name_b: text`` for several
    fields), continued on more deeply indented lines.

    Returns:
        field name -> its description, whitespace collapsed to single spaces.
    """
    lines = (cls.__doc__ or "").expandtabs().splitlines()
    docs: dict[str, str] = {}
    in_attrs, indent, names = False, None, []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if _SECTION.match(text):
            in_attrs, indent, names = text.startswith("Attributes"), None, []
            continue
        if not in_attrs:
            continue
        level = len(line) - len(line.lstrip())
        if indent is None:
            indent = level
        if level < indent:          # dedented: the section is over
            in_attrs = False
            continue
        m = _ENTRY.match(text) if level == indent else None
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            for n in names:
                docs[n] = m.group(2).strip()
        else:
            for n in names:
                docs[n] = f"{docs[n]} {text}".strip()
    return docs


def one_line(description: str) -> str:
    """The first sentence of a description: up to the first period that is
    followed by a capital letter and not inside parentheses (all of it when
    there is none)."""
    for m in re.finditer(r"\.\s+(?=[A-Z])", description):
        head = description[: m.start() + 1]
        if head.count("(") == head.count(")"):
            return head
    return description.rstrip()


def type_name(tp: Any) -> str:
    """A type annotation as a user would write its values' type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin in (tuple, list, Sequence):
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_name(args[0])}"
        if args and len(set(args)) == 1:
            return f"list of {len(args)} {type_name(args[0])}"
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if tp is bool:
        return "bool"
    return getattr(tp, "__name__", str(tp))


def value_text(value: Any) -> str:
    """A default value as it is written on the command line."""
    if isinstance(value, str):
        return "required" if value == MISSING else value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    return repr(value)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_schema(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def iter_options(schema: type, choices: Mapping[str, Sequence[str]] | None = None,
                 default: Any = None, prefix: str = "",
                 shown_defaults: Mapping[str, str] | None = None) -> Iterator[Option]:
    """Every leaf option of ``schema``, nested dataclasses flattened to dotted
    keys, in field order.

    Args:
        schema: a config dataclass of placer.config.
        choices: allowed values by dotted key, beside those in the fields'
            ``metadata["choices"]``.
        default: the instance whose values are the defaults; None: the
            schema's own defaults.
        prefix: the dotted key of ``schema`` itself (``"ppo."``).
        shown_defaults: default texts by dotted key that replace the
            schema's (e.g. the methods' own defaults of an option whose
            schema default is None).
    """
    choices, shown_defaults = choices or {}, shown_defaults or {}
    if default is None:
        default = schema()
    docs, hints = field_docs(schema), _hints(schema)
    for f in dataclasses.fields(schema):
        key, tp = prefix + f.name, hints[f.name]
        value = getattr(default, f.name)
        if _is_schema(tp):
            yield from iter_options(tp, choices, value, key + ".", shown_defaults)
            continue
        allowed = choices.get(key, f.metadata.get("choices", ()))
        yield Option(key, type_name(tp), shown_defaults.get(key, value_text(value)),
                     one_line(docs.get(f.name, "")),
                     tuple(str(c) for c in allowed))


def groups(schema: type, prefix: str = "") -> Iterator[tuple[str, str]]:
    """The nested option groups of ``schema``: (dotted key, one-line description)."""
    docs, hints = field_docs(schema), _hints(schema)
    for f in dataclasses.fields(schema):
        if _is_schema(hints[f.name]):
            yield prefix + f.name, one_line(docs.get(f.name, ""))
            yield from groups(hints[f.name], prefix + f.name + ".")


def undocumented(schema: type, prefix: str = "") -> list[str]:
    """The dotted keys of ``schema``'s fields (nested ones included) that its
    docstring does not describe: what the documentation test checks."""
    docs, hints, out = field_docs(schema), _hints(schema), []
    for f in dataclasses.fields(schema):
        if not docs.get(f.name):
            out.append(prefix + f.name)
        if _is_schema(hints[f.name]):
            out += undocumented(hints[f.name], prefix + f.name + ".")
    return out


def help_text(prog: str, schema: type, usage: str,
              choices: Mapping[str, Sequence[str]] | None = None,
              shown_defaults: Mapping[str, str] | None = None,
              width: int | None = None) -> str:
    """The ``--help`` page of a command: summary, usage and every option with
    its type, default, allowed values and description."""
    width = width or min(100, shutil.get_terminal_size((88, 24)).columns)
    doc = (schema.__doc__ or "").strip().split("\n\n")[0]
    summary = " ".join(doc.split()).replace("``", "")
    wrap = functools.partial(textwrap.fill, width=width, initial_indent="      ",
                             subsequent_indent="      ")
    note = (f"{prog} takes options as key=value arguments (nested ones as "
            "group.key=value), typed as shown below. '-m' with comma-separated "
            "values runs a sweep; --hydra-help lists Hydra's own flags.")
    out = [summary, "", f"usage: {usage}", "",
           textwrap.fill(note, width=width), "", "options:"]
    group_docs = dict(groups(schema))
    shown: set[str] = set()
    for opt in iter_options(schema, choices, shown_defaults=shown_defaults):
        parent = opt.key.rpartition(".")[0]
        if parent and parent not in shown:
            shown.add(parent)
            out += ["", f"  {parent}.*: {group_docs.get(parent, '')}"]
        line = f"  {opt.key} = {opt.default}  ({opt.type}"
        if opt.choices:
            line += "; one of: " + ", ".join(opt.choices)
        out.append(line + ")")
        if opt.description:
            out.append(wrap(opt.description))
    return "\n".join(out) + "\n"


def option_keys(schema: type) -> list[str]:
    """Every dotted key the command line may set: leaves and groups."""
    leaves = [o.key for o in iter_options(schema)]
    return [k for k, _ in groups(schema)] + leaves


def suggest(key: str, keys: Sequence[str]) -> str | None:
    """The known key the user most likely meant by ``key``, or None.

    A key given without its group (``tries`` for ``options.tries``) is found
    by its last part; otherwise the closest spelling (difflib) of the whole
    key, then of its last part within the same group.
    """
    same_leaf = [k for k in keys if k.rsplit(".", 1)[-1] == key]
    if same_leaf:
        return same_leaf[0]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if close:
        return close[0]
    group, _, leaf = key.rpartition(".")
    siblings = {k.rsplit(".", 1)[-1]: k for k in keys if k.rpartition(".")[0] == group}
    close = difflib.get_close_matches(leaf, list(siblings), n=1, cutoff=0.6)
    return siblings[close[0]] if close else None


def override_key(arg: str) -> str | None:
    """The config key an override sets (``+a.b=1`` -> ``a.b``), or None for an
    argument that sets none of the command's own keys (a flag, Hydra's keys)."""
    if arg.startswith("-") and not arg.startswith("--"):
        return None
    if arg.startswith("--") or ("=" not in arg and not arg.startswith("~")):
        return None
    key = arg.split("=", 1)[0].lstrip("~+")
    if not key or key == "hydra" or key.startswith(("hydra.", "hydra/")) or any(
            c in key for c in "/@"):
        return None
    return key


def unknown_keys(schema: type, args: Sequence[str]) -> list[tuple[str, str | None]]:
    """The keys in ``args`` that ``schema`` does not have, each with a
    suggestion (or None)."""
    keys = option_keys(schema)
    known = set(keys)
    out = []
    for arg in args:
        key = override_key(arg)
        if key is not None and key not in known:
            out.append((key, suggest(key, keys)))
    return out


def unknown_option_message(key: str, suggestion: str | None, prog: str) -> str:
    """``unknown option 'x'; did you mean 'y'?`` (or where to look)."""
    if suggestion is not None:
        return f"unknown option {key!r}; did you mean {suggestion!r}?"
    return f"unknown option {key!r}; {prog} --help lists the options"


def check_choices(cfg: Any, choices: Mapping[str, Sequence[str]] | None = None,
                  prefix: str = "") -> None:
    """Rejects a value outside the allowed ones of its field.

    Args:
        cfg: a config dataclass instance.
        choices: allowed values by dotted key, beside the fields'
            ``metadata["choices"]``.
        prefix: the dotted key of ``cfg`` within the command's config.

    Raises:
        PlacerInputError: ``invalid value 'x' for key; allowed: ...`` (with a
            did-you-mean when one is close).
    """
    choices = choices or {}
    for f in dataclasses.fields(cfg):
        key, value = prefix + f.name, getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            check_choices(value, choices, key + ".")
            continue
        allowed = [str(c) for c in choices.get(key, f.metadata.get("choices", ()))]
        if allowed and str(value) not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PlacerInputError(f"invalid value {value!r} for {key}; allowed: "
                                   f"{', '.join(allowed)}{hint}")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_INPUT_ERROR)


def compose_error(config_dir: str, config_name: str, args: Sequence[str]) -> str | None:
    """What is wrong with the overrides in ``args`` (a value of the wrong
    type, a malformed override) as Hydra composes them, or None if they
    compose. Key typos are :func:`unknown_keys`' job and come first."""
    overrides = [a for a in args if not a.startswith("-")]
    try:
        with initialize_config_dir(config_dir=config_dir, version_base=None):
            compose(config_name, overrides=overrides)
    except ConfigCompositionException as e:
        cause = e.__cause__
        detail = str(cause).splitlines()[0] if cause is not None else ""
        head = str(e).splitlines()[0]
        head = head.replace("Error merging override ", "")
        return f"{head}: {detail}" if detail else head
    except OverrideParseException as e:
        return f"cannot parse the override: {str(e).splitlines()[0]}"
    return None


def preflight(prog: str, config_name: str, schema: type, config_dir: str,
              usage: str, args: Sequence[str],
              choices: Mapping[str, Sequence[str]] | None = None,
              shown_defaults: Mapping[str, str] | None = None) -> None:
    """Answers ``--help`` (exit 0) and rejects unknown keys and mistyped
    values (exit 2) before Hydra composes the config."""
    if "--help" in args or "-h" in args:
        sys.stdout.write(help_text(prog, schema, usage, choices, shown_defaults))
        sys.stdout.flush()
        sys.exit(0)
    if any(a in _CONFIG_FLAGS or a.split("=")[0] in _CONFIG_FLAGS for a in args):
        return                      # another config: Hydra checks it
    for key, suggestion in unknown_keys(schema, args):
        _fail(unknown_option_message(key, suggestion, prog))
    if not any(a.startswith("-") for a in args):   # sweeps, --cfg: Hydra's
        error = compose_error(config_dir, config_name, args)
        if error is not None:
            _fail(error)


def explained(prog: str, config_name: str, schema: type, config_dir: str,
              usage: str, choices: Mapping[str, Sequence[str]] | None = None,
              shown_defaults: Mapping[str, str] | None = None,
              compile_cache: bool = True) -> Callable[[Callable], Callable]:
    """Decorates a ``@hydra.main`` entry point with :func:`preflight` on the
    real command line, then (``compile_cache``) turns on the persistent
    compile cache (placer.compile_cache). A config passed in directly (tests)
    skips both.

    Args:
        prog: the command's name (``placer-place``).
        config_name: its YAML's name in ``config_dir``.
        schema: its config dataclass.
        config_dir: the folder of the YAML files.
        usage: the one-line usage.
        choices: allowed values by dotted key, beside the fields' metadata.
        shown_defaults: default texts by dotted key that --help shows
            instead of the schema's.
        compile_cache: turn on the persistent compile cache.
    """
    def wrap(main: Callable) -> Callable:
        @functools.wraps(main)
        def entry(cfg_passthrough=None):
            if cfg_passthrough is None:
                preflight(prog, config_name, schema, config_dir, usage,
                          sys.argv[1:], choices, shown_defaults)
                if compile_cache:
                    enable_compile_cache()
            return main(cfg_passthrough)
        return entry
    return wrap
