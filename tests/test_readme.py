"""The README runs: every code block in README.md is executed as written.

Each fenced block is one test, run in a subprocess in a fresh temporary
folder that looks like a clone: ``netlists/``, ``placer/`` and
``experiments/`` link to the repository's, and ``../shared`` to the shared
data (a block that uses ``../shared`` is skipped when it is absent). Python
blocks run with this interpreter; blocks without a language (or sh, bash,
shell) are shell (bash, ``-e -o pipefail``) with this interpreter's scripts
folder first on PATH, so ``placer-*`` and ``python`` are the installed ones;
YAML blocks must parse; blocks in any other language are not code.

What the README says about a block, the test honours:

* ``<!-- readme-test: slow -->`` on the line before the fence: marked slow
  (``python -m pytest -m slow``); the README's budgets are never shrunk.
* ``<!-- readme-test: skip (reason) -->``: not run, with that reason.
* ``# continues the previous block`` as the block's first line: it runs after
  the previous block of its language (and whatever that one continues), in
  one process, and is slow when any of them is.

The one rewrite: a shell block that starts by making a virtual environment
and installing placer (``python3 -m venv .venv && ... pip install -e . &&``)
runs from after that prefix, since the test runs in an installed environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED_DIR

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CONTINUES = "# continues the previous block"
INSTALL = re.compile(r"^python3 -m venv \.venv && \. \.venv/bin/activate && "
                     r"pip install -e \S+ && ")
LINKED = ("netlists", "placer", "experiments")
SHELL_LANGS = ("", "sh", "bash", "shell", "console")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
DIRECTIVE = re.compile(
    r"^\s*<!--\s*readme-test:\s*(slow|skip)\s*(?:\((.*)\))?\s*-->\s*$")
FAST_TIMEOUT_S = 600


@dataclasses.dataclass
class Block:
    """One fenced code block of the README.

    Attributes:
        line: 1-based line of its opening fence.
        lang: "python", "shell", "yaml" or another (not run).
        code: its text, dedented.
        slow: marked slow (or continues a slow block).
        skip: the reason it is not run, or None.
        previous: the block it continues, or None.
    """

    line: int
    lang: str
    code: str
    slow: bool = False
    skip: str | None = None
    previous: Block | None = None

    def program(self) -> str:
        """Its code after that of the blocks it continues."""
        head = self.previous.program() + "\n" if self.previous else ""
        return head + self.code


def readme_blocks(text: str) -> list[Block]:
    """The README's code blocks, with their directives and continuations."""
    lines = text.splitlines()
    blocks: list[Block] = []
    last_of: dict[str, Block] = {}
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2) or "shell"
        j = i + 1
        while not FENCE.match(lines[j]):
            j += 1
        body = "\n".join(ln[indent:] for ln in lines[i + 1: j]) + "\n"
        lang = "shell" if lang in SHELL_LANGS else lang
        block = Block(i + 1, lang, body)
        d = DIRECTIVE.match(lines[i - 1]) if i > 0 else None
        if d and d.group(1) == "slow":
            block.slow = True
        elif d:
            block.skip = d.group(2) or "marked skip in the README"
        if body.lstrip().startswith(CONTINUES):
            block.previous = last_of[lang]
            block.slow = block.slow or block.previous.slow
            block.skip = block.skip or block.previous.skip
        last_of[lang] = block
        blocks.append(block)
        i = j + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _param(block: Block):
    marks = [pytest.mark.slow] if block.slow else []
    return pytest.param(block, marks=marks, id=f"L{block.line}-{block.lang}")


def test_readme_blocks__parsed():
    """The parser finds the README's blocks, its marks and its continuations."""
    assert len(BLOCKS) >= 15
    assert any(b.lang == "python" and not b.slow and not b.skip for b in BLOCKS)
    assert any(b.previous is not None for b in BLOCKS)
    for b in BLOCKS:
        if b.previous is not None:
            assert b.previous.lang == b.lang and b.previous.line < b.line


def _workdir(tmp_path: Path) -> Path:
    """A folder laid out like a clone, with ``../shared`` beside it."""
    work = tmp_path / "clone"
    work.mkdir()
    for name in LINKED:
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    if SHARED_DIR.is_dir():
        (tmp_path / "shared").symlink_to(SHARED_DIR, target_is_directory=True)
    return work


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_readme_block__runs(block: Block, tmp_path):
    """The block (after those it continues) runs and exits 0."""
    if block.skip:
        pytest.skip(block.skip)
    code = block.program()
    if block.lang in ("yaml", "yml"):
        assert isinstance(yaml.safe_load(code), dict), block.line
        return
    if block.lang not in ("python", "shell"):
        pytest.skip(f"a {block.lang} block is not code")
    if "../shared" in code and not (SHARED_DIR / "netlists").is_dir():
        pytest.skip(f"needs the shared data ({SHARED_DIR} is absent)")
    work = _workdir(tmp_path)
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(
                   [str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                     os.environ.get("PATH", "")]))
    if block.lang == "python":
        script = tmp_path / "block.py"
        script.write_text(code, encoding="utf-8")
        cmd = [sys.executable, str(script)]
    else:
        code = "\n".join(INSTALL.sub("", ln) for ln in code.splitlines())
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                       timeout=None if block.slow else FAST_TIMEOUT_S)
    assert r.returncode == 0, (
        f"README.md line {block.line} ({block.lang}) failed:\n{code}\n"
        f"--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-5000:]}")
