"""Build corpus.jsonl (and corpus_flat.jsonl) of the docs_kb set from the project's docs at a commit.

    .venv/bin/python bench/data/docs_kb/make_corpus.py [--commit 5c9ab78]

One document per level-2 section (`## `) of each docs/*.md file (its `###` subsections, lists,
tables and code blocks included; the text before the first `##` is a document of its own when it
has at least 40 words), and one per decision record (docs/decisions/*.md). Title: the file's
title, an em dash, the section's heading. corpus.jsonl keeps the Markdown as written;
corpus_flat.jsonl is the same text with the Markdown marks removed and all whitespace collapsed
into single spaces (the way the shared development set was converted from HTML), same ids.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
MIN_PREAMBLE_WORDS = 40


def show(commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def listed(commit: str, folder: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{commit}:{folder}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return [f"{folder}/{name}" for name in out.split() if name.endswith(".md")]


def sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(file title, [(heading, body)]) split at level-2 headings outside code fences."""
    title, parts, heading, lines, fenced = "", [], "", [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#\s+\S", line) and not title:
            title = line[2:].strip()
            continue
        if not fenced and re.match(r"##\s+\S", line):
            parts.append((heading, "\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
            continue
        lines.append(line)
    parts.append((heading, "\n".join(lines).strip()))
    return title, parts


def flat(text: str) -> str:
    text = re.sub(r"(?m)^\s*```.*$", " ", text)
    text = re.sub(r"(?m)^\s{0,3}#{1,6}\s+", "", text)
    text = re.sub(r"(?m)^\s*\|?\s*-{3,}[-|: ]*$", " ", text)  # table rules
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"[*`|]", " ", text)
    return " ".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commit", default="5c9ab78")
    args = parser.parse_args()
    rows = []
    for path in listed(args.commit, "docs"):
        stem = Path(path).stem
        title, parts = sections(show(args.commit, path))
        for n, (heading, body) in enumerate(parts):
            if not heading and len(body.split()) < MIN_PREAMBLE_WORDS:
                continue
            rows.append({"_id": f"{stem}-{n:02d}", "title": f"{title} — {heading}" if heading else title, "text": body})
    for path in listed(args.commit, "docs/decisions"):
        text = show(args.commit, path)
        title, _ = sections(text)
        body = "\n".join(line for line in text.splitlines() if line.strip() != f"# {title}").strip()
        rows.append({"_id": f"adr-{Path(path).stem[:4]}", "title": title, "text": body})
    with open(HERE / "corpus.jsonl", "w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(HERE / "corpus_flat.jsonl", "w") as out:
        for row in rows:
            out.write(json.dumps({**row, "text": flat(row["text"])}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} documents, {sum(len(r['text'].split()) for r in rows)} words")


if __name__ == "__main__":
    main()
