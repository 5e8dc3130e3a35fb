#!/usr/bin/python3
"""A small checker of the Prometheus text format (0.0.4) for the tests of
/metrics: every family has one HELP and one TYPE line before its samples,
its samples are contiguous, names and label names are valid, label values
are properly escaped, values are numbers, no series is given twice and
counters end in _total.

    prom_check.py FILE           exit 0 when well-formed, else the errors
    prom_check.py FILE --json    the samples as JSON: {"name{a=\"b\"}": v}
"""
import json
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text, errors, lineno):
    """'{a="x",b="y"}' -> [(a, x), (b, y)]; escapes \\\\ \\" \\n only."""
    labels, i = [], 1
    while i < len(text) and text[i] != "}":
        eq = text.find("=", i)
        if eq < 0:
            errors.append(f"{lineno}: label without '='")
            return labels, len(text)
        name = text[i:eq]
        if not LABEL.match(name) or name.startswith("__"):
            errors.append(f"{lineno}: bad label name {name!r}")
        if eq + 1 >= len(text) or text[eq + 1] != '"':
            errors.append(f"{lineno}: label value not quoted")
            return labels, len(text)
        j, value = eq + 2, []
        while j < len(text) and text[j] != '"':
            if text[j] == "\\":
                nxt = text[j + 1] if j + 1 < len(text) else ""
                if nxt not in ('\\', '"', 'n'):
                    errors.append(f"{lineno}: bad escape \\{nxt}")
                value.append({"n": "\n"}.get(nxt, nxt))
                j += 2
            else:
                value.append(text[j])
                j += 1
        if j >= len(text):
            errors.append(f"{lineno}: unterminated label value")
            return labels, len(text)
        labels.append((name, "".join(value)))
        j += 1
        if j < len(text) and text[j] == ",":
            j += 1
        i = j
    if i >= len(text):
        errors.append(f"{lineno}: labels not closed")
    return labels, i + 1


def check(text):
    errors, samples = [], {}
    helps, types, done, current = {}, {}, set(), None
    if text and not text.endswith("\n"):
        errors.append("the last line has no line feed")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    errors.append(f"{lineno}: bad metric name {name!r}")
                seen = helps if parts[1] == "HELP" else types
                if name in seen:
                    errors.append(f"{lineno}: second {parts[1]} for {name}")
                if samples_of(samples, name):
                    errors.append(f"{lineno}: {parts[1]} of {name} after its samples")
                if parts[1] == "TYPE":
                    t = parts[3] if len(parts) > 3 else ""
                    if t not in TYPES:
                        errors.append(f"{lineno}: bad type {t!r}")
                    if t == "counter" and not name.endswith("_total"):
                        errors.append(f"{lineno}: counter {name} does not end in _total")
                seen[name] = parts[3] if len(parts) > 3 else ""
                if current and current != name:
                    done.add(current)
                current = name
            continue
        if not line.strip():
            errors.append(f"{lineno}: empty line")
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            errors.append(f"{lineno}: not a sample: {line!r}")
            continue
        name, rest = m.group(1), line[m.end():]
        labels = []
        if rest.startswith("{"):
            labels, end = parse_labels(rest, errors, lineno)
            rest = rest[end:]
        if not rest.startswith(" "):
            errors.append(f"{lineno}: no space before the value")
            continue
        fields = rest.split()
        try:
            float(fields[0])
        except (ValueError, IndexError):
            errors.append(f"{lineno}: value {fields[:1]} is not a number")
            continue
        if name not in types or name not in helps:
            errors.append(f"{lineno}: {name} has no HELP and TYPE before it")
        if name in done:
            errors.append(f"{lineno}: samples of {name} are not together")
        if current and current != name:
            done.add(current)
            current = name
        key = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"
                      if labels else "")
        if key in samples:
            errors.append(f"{lineno}: series {key} given twice")
        samples[key] = float(fields[0])
    return errors, samples


def samples_of(samples, name):
    return {k for k in samples if k == name or k.startswith(name + "{")}


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errors, samples = check(text)
    if "--json" in sys.argv[2:]:
        json.dump(samples, sys.stdout, sort_keys=True)
        print()
        return 0 if not errors else 1
    for e in errors:
        print("prom_check:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
