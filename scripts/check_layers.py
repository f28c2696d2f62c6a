#!/usr/bin/env python3
"""Refuses an #include that crosses the layers of src/ the wrong way (docs/ARCHITECTURE.md).

Each folder of src/ may include itself and the folders listed for it below, nothing else; a
service folder (src/services/<service>) may not include another service's. Only src/app, the
wiring, includes both services and adapters. Usage: check_layers.py [SRC_DIR]; exit 1 naming
each wrong include (file:line, what it includes, what that folder may include).
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


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "src")
    found = list(violations(src))
    for v in found:
        print(v, file=sys.stderr)
    if found:
        print(f"check_layers: {len(found)} include(s) across the layers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
