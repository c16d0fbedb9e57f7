"""Validates contract examples against the committed JSON Schema files with Python's
`jsonschema` (Debian: python3-jsonschema), as a worker written in Python would.

stdin: {"schemaDir": "...", "cases": [{"file": "...", "value": ..., "label": "..."}]}
stdout: [{"label": "...", "valid": bool, "errors": ["path: message", ...]}]
"""
import json
import os
import sys

from jsonschema import Draft202012Validator, FormatChecker


def main() -> None:
    request = json.load(sys.stdin)
    validators = {}
    results = []
    for case in request["cases"]:
        name = case["file"]
        if name not in validators:
            with open(os.path.join(request["schemaDir"], name), encoding="utf-8") as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
            validators[name] = Draft202012Validator(schema, format_checker=FormatChecker())
        errors = [
            ".".join(str(p) for p in e.absolute_path) + ": " + e.message
            for e in validators[name].iter_errors(case["value"])
        ]
        results.append({"label": case["label"], "valid": not errors, "errors": errors})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
