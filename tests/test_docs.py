"""The code in the documentation runs: every ```python block of README.md and docs/*.md.

Each file's python blocks are executed in order, in one namespace, with a fresh temporary
directory as the working directory (so a block may use files an earlier block of the same
page wrote) and matplotlib's Agg backend. Blocks that need a results file make it themselves
(e.g. with ``python -m solvers`` on a tiny config). Markers, as an HTML comment on the line
before a block (invisible when rendered):

* ``<!-- no-run: reason -->``: a python block that is not executed (it is still compiled);
  use sparingly, and say why.
* ``<!-- file: NAME -->``: the block's text is written to NAME in the working directory when
  the page reaches it (e.g. a TOML config that the next python block runs).

Blocks in other languages are not executed; TOML blocks must parse, and those that are whole
configs (a top-level ``task``) must pass ``keldysh-run --check``.
"""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>no-run|file)\s*:\s*(?P<value>.*?)\s*-->\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    no_run: str | None = None  # the reason
    file: str | None = None  # write the block to this file

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path, text: str | None = None) -> list[Block]:
    """The fenced code blocks of a Markdown file (or of ``text``, as if it were that file),
    with the markers on the lines before each."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent, start = m["fence"], len(m["indent"]), i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                      and not lines[i].strip().strip(fence[0])):
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start + 1}: code block is never closed")
        i += 1
        marks: dict[str, str] = {}
        j = start - 1
        while j >= 0 and (mark := _MARKER.match(lines[j])):
            marks[mark["kind"]] = mark["value"]
            j -= 1
        blocks.append(Block(path, start + 1, m["info"].lower(), "\n".join(body) + "\n",
                            marks.get("no-run"), marks.get("file")))
    return blocks


ALL_BLOCKS = [block for path in DOC_FILES for block in code_blocks(path)]
PAGES_WITH_PYTHON = [path for path in DOC_FILES
                     if any(b.lang == "python" and b.path == path for b in ALL_BLOCKS)]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", PAGES_WITH_PYTHON, ids=_id)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("MPLBACKEND", "Agg")  # also for subprocesses the blocks start
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in (b for b in ALL_BLOCKS if b.path == path):
            if block.file is not None:
                Path(block.file).write_text(block.code, encoding="utf-8")
            if block.lang != "python":
                continue
            code = compile(block.code, block.where, "exec")
            if block.no_run is None:
                exec(code, namespace)  # noqa: S102 - our own documentation
    finally:
        plt.close("all")


def test_markers_are_well_formed():
    for block in ALL_BLOCKS:
        if block.no_run is not None:
            assert block.lang == "python", f"{block.where}: no-run marks a {block.lang!r} block"
            assert len(block.no_run) >= 10, f"{block.where}: no-run needs a reason"
        if block.file is not None:
            assert re.fullmatch(r"[\w.-]+", block.file), f"{block.where}: file {block.file!r}"
    assert sum(b.no_run is not None for b in ALL_BLOCKS) <= 3, "no-run is for exceptions"


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "toml"],
                         ids=lambda b: b.where)
def test_toml_blocks_parse_and_configs_validate(block, tmp_path):
    table = tomllib.loads(block.code)
    if "task" not in table:
        return  # a fragment: parsing is all we can check
    config = tmp_path / (block.file or "config.toml")
    config.write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "solvers", str(config), "--check"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{block.where}: {done.stderr}"
    assert list(tmp_path.iterdir()) == [config]  # --check writes nothing


def test_block_parser():
    """The parser on a page with every kind of block and marker."""
    page = (
        "text\n```python\nx = 1\n```\n<!-- no-run: needs a cluster -->\n```python\nmpi()\n```\n"
        "<!-- file: a.toml -->\n```toml\ntask = 'gap'\n```\n  ```bash\n  ls\n    cd x\n  ```\n```\nplain\n```\n"
    )
    path = ROOT / "docs" / "_parser_example.md"
    blocks = code_blocks(path, page)
    assert [(b.lang, b.code, b.no_run, b.file, b.line) for b in blocks] == [
        ("python", "x = 1\n", None, None, 2),
        ("python", "mpi()\n", "needs a cluster", None, 6),
        ("toml", "task = 'gap'\n", None, "a.toml", 10),
        ("bash", "ls\n  cd x\n", None, None, 13),
        ("", "plain\n", None, None, 17),
    ]
    with pytest.raises(ValueError, match="never closed"):
        code_blocks(path, "```python\nx = 1\n")

