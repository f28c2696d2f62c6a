#!/usr/bin/env python3
"""clang-tidy over translation units, skipping those a clean run already passed unchanged.

A translation unit's key is a SHA-256 of everything its findings depend on: clang-tidy's
version, .clang-tidy, the extra arguments, the compile command and the unit's preprocessed
text with its comments (every header it includes, NOLINT comments kept), the source and build
folders written as placeholders so that another clone of the same sources has the same keys.
A unit that clang-tidy passes leaves an empty file named by its key under the cache folder;
the next run checks only the units whose key has no file. Entries unused for 30 days go.

Usage: clang_tidy_cached.py --build-dir DIR --cache DIR [--jobs N] [--clang-tidy EXE]
                            [--extra-arg ARG]... FILE...
Prints clang-tidy's findings and exits 1 when any unit has one; the last line says how many
units were checked and how many were known clean.
"""

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

KEEP_SECONDS = 30 * 24 * 3600


def compile_commands(build_dir):
    entries = json.loads((build_dir / "compile_commands.json").read_text())
    commands = {}
    for e in entries:
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        path = Path(e["directory"], e["file"]).resolve()
        commands[path] = (args, e["directory"])
    return commands


def preprocess_args(args):
    """The compile command turned into one that writes the preprocessed text to stdout."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    return out + ["-E", "-P", "-C"]


class Keys:
    def __init__(self, source_dir, build_dir, tidy_version, config, extra_args):
        self.source = str(source_dir).encode()
        self.build = str(build_dir).encode()
        self.base = hashlib.sha256()
        for part in (tidy_version, config, "\0".join(extra_args).encode()):
            self.base.update(part)
            self.base.update(b"\0")

    def neutral(self, data):
        # The build folder first: it usually lies inside the source folder.
        return data.replace(self.build, b"<build>").replace(self.source, b"<source>")

    def key(self, args, directory):
        h = self.base.copy()
        h.update(self.neutral("\0".join(a for i, a in enumerate(args) if not (i > 0 and args[i - 1] == "-o")).encode()))
        text = subprocess.run(preprocess_args(args), cwd=directory, capture_output=True, check=True).stdout
        h.update(self.neutral(text))
        return h.hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", required=True, type=Path)
    p.add_argument("--cache", required=True, type=Path)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--clang-tidy", default="clang-tidy-19")
    p.add_argument("--extra-arg", action="append", default=[])
    p.add_argument("files", nargs="+", type=Path)
    opts = p.parse_args()

    source_dir = Path.cwd().resolve()
    build_dir = opts.build_dir.resolve()
    commands = compile_commands(build_dir)
    version = subprocess.run([opts.clang_tidy, "--version"], capture_output=True, check=True).stdout
    config = (source_dir / ".clang-tidy").read_bytes()
    keys = Keys(source_dir, build_dir, version, config, opts.extra_arg)
    opts.cache.mkdir(parents=True, exist_ok=True)

    def check(path):
        """(path, findings or None when clean, whether the cache answered)."""
        resolved = path.resolve()
        entry = commands.get(resolved)
        key = None
        if entry is not None:
            try:
                key = keys.key(*entry)
            except subprocess.CalledProcessError:
                key = None  # it does not preprocess: clang-tidy says why
        marker = opts.cache / key[:2] / key if key else None
        if marker is not None and marker.exists():
            os.utime(marker)
            return path, None, True
        cmd = [opts.clang_tidy, "-p", str(build_dir), "--quiet"] + [f"--extra-arg={a}" for a in opts.extra_arg] + [str(path)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return path, r.stdout + r.stderr, False
        if marker is not None:
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
        return path, None, False

    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        results = list(pool.map(check, opts.files))

    failed = [(path, findings) for path, findings, _ in results if findings is not None]
    for path, findings in failed:
        lines = findings.splitlines()
        shown = set()  # each finding with the three lines that show where
        for i, line in enumerate(lines):
            if "warning:" in line or "error:" in line:
                shown.update(range(i, min(i + 4, len(lines))))
        print("\n".join(lines[i] for i in sorted(shown)) if shown else findings, file=sys.stderr)

    now = time.time()
    for marker in opts.cache.glob("*/*"):
        if now - marker.stat().st_mtime > KEEP_SECONDS:
            marker.unlink(missing_ok=True)

    cached = sum(1 for _, _, hit in results if hit)
    print(f"clang-tidy: {len(results)} translation units, {cached} unchanged since a clean run, "
          f"{len(results) - cached} checked, {len(failed)} with findings", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
