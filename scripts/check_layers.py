#!/usr/bin/env python3
"""Refuses an #include that crosses the layers of src/ the wrong way (docs/ARCHITECTURE.md).

Each folder of src/ may include itself and the folders listed for it below, nothing else; a
service folder (src/services/<service>) may not include another service's. Only src/app, the
wiring, includes both services and adapters. And the time is read through a TimeSource
(core/time.h), which each component is given: no file but core/time.cc reads std::chrono's
clocks itself. Usage: check_layers.py [SRC_DIR]; exit 1 naming each wrong include (file:line,
what it includes, what that folder may include) and each direct clock read.
"""
import pathlib
import re
import sys

# Lower layers first: each may include only the ones before it that are listed.
ALLOWED = {
    "core": set(),
    "metrics": {"core"},
    "tracing": {"core"},
    "config": {"core"},
    "debezium": {"core"},
    "store": {"core", "metrics", "tracing"},
    "runtime": {"core", "metrics", "tracing", "debezium", "store"},
    "workload": {"core", "debezium", "runtime"},
    "services": {"core", "metrics", "tracing", "debezium", "store", "runtime"},
    "adapters": {"core", "metrics", "tracing", "debezium", "store", "runtime"},
    "app": {"core", "metrics", "tracing", "config", "debezium", "store", "runtime", "workload", "services", "adapters"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([^"]*)"')
CLOCK_READ = re.compile(r"\b(steady_clock|system_clock|high_resolution_clock|Clock)::now\(")
# The system's TimeSource: the one place that reads the clocks.
CLOCK_OWNER = pathlib.Path("core/time.cc")


def violations(src: pathlib.Path):
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        parts = path.relative_to(src).parts
        layer = parts[0]
        if layer not in ALLOWED:
            yield f"{path}: folder src/{layer} is not in scripts/check_layers.py's table of layers"
            continue
        service = parts[1] if layer == "services" and len(parts) > 2 else None
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target, rest = m.group(1), m.group(2)
            if target not in ALLOWED:
                continue  # a system or third-party header written with quotes
            if target == layer:
                other = rest.split("/", 1)[0]
                if service and "/" in rest and other != service:
                    yield (f"{path}:{number}: src/services/{service} includes \"{target}/{rest}\": "
                           "a service does not include another service's headers")
                continue
            if target not in ALLOWED[layer]:
                may = ", ".join(sorted(ALLOWED[layer])) or "nothing but itself"
                yield (f"{path}:{number}: src/{layer} includes \"{target}/{rest}\"; src/{layer} may include {may} "
                       "(docs/ARCHITECTURE.md)")


def clock_reads(src: pathlib.Path):
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file() or path.relative_to(src) == CLOCK_OWNER:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split("//", 1)[0]
            if m := CLOCK_READ.search(code):
                yield (f"{path}:{number}: reads the clock itself ({m.group(1)}::now); read the time through the "
                       "TimeSource the component is given (core/time.h: options' `time`, systemTime() in src/app)")


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "src")
    found = list(violations(src))
    clocks = list(clock_reads(src))
    for v in found + clocks:
        print(v, file=sys.stderr)
    if found:
        print(f"check_layers: {len(found)} include(s) across the layers", file=sys.stderr)
    if clocks:
        print(f"check_layers: {len(clocks)} direct clock read(s)", file=sys.stderr)
    return 1 if found or clocks else 0


if __name__ == "__main__":
    sys.exit(main())
