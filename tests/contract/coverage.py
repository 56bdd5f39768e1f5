"""Per-operation coverage of a schemathesis run: which operations answered a 2xx at least
once, from the status log that hooks.py writes (one `operationId<TAB>status` a line).

Usage: coverage.py OPENAPI_JSON STATUS_LOG
Prints one line per operation that never reached a 2xx, with the statuses it did get,
and the count `N of M operations reached a 2xx`. Informational: exits 0.
"""

import collections
import json
import sys


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield operation["operationId"], f"{method.upper()} {path}"


def main(openapi_path, log_path):
    with open(openapi_path, encoding="utf-8") as f:
        document = json.load(f)
    seen = collections.defaultdict(collections.Counter)
    try:
        with open(log_path, encoding="utf-8") as log:
            for line in log:
                operation_id, status = line.rstrip("\n").split("\t")
                seen[operation_id][int(status)] += 1
    except FileNotFoundError:
        pass
    all_operations = list(operations(document))
    missed = []
    for operation_id, label in all_operations:
        statuses = seen.get(operation_id, collections.Counter())
        if not any(200 <= status < 300 for status in statuses):
            missed.append((operation_id, label, statuses))
    reached = len(all_operations) - len(missed)
    print(f"coverage: {reached} of {len(all_operations)} operations reached a 2xx")
    for operation_id, label, statuses in missed:
        got = ", ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
        print(f"  no 2xx: {operation_id} ({label}): {got or 'never called'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
