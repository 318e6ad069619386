"""Turns ocsf-lib's compiled schema into the shape of the OCSF server's schema export, which
ocsf-json-schema reads:

- attributes without a value are left out instead of null;
- attributes whose type is an object name become `object_t` with `object_type`;
- an attribute a class (or a class it extends) defines itself is the class's own, not its
  profile's: ocsf-lib marks it with the profile that also defines it (`actor` of API Activity
  with `host`), which would make a validator refuse it unless the event named that profile.

Usage: normalize_schema.py COMPILED.json OCSF-SCHEMA-REPO OUT.json"""

import json
import pathlib
import sys

compiled, repo, out = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]


def strip(value):
    if isinstance(value, dict):
        return {key: strip(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [strip(item) for item in value]
    return value


schema = strip(json.load(open(compiled)))
objects = set(schema["objects"])
for group in ("classes", "objects"):
    for item in schema[group].values():
        for attribute in item.get("attributes", {}).values():
            if attribute.get("type") in objects:
                attribute["object_type"] = attribute["type"]
                attribute["type"] = "object_t"
            elif attribute.get("type") == "object":
                attribute["type"] = "object_t"

sources = {}
for path in (repo / "events").rglob("*.json"):
    definition = json.load(open(path))
    if "name" in definition:
        sources[definition["name"]] = definition


def own_attributes(name):
    names = set()
    while name in sources:
        definition = sources[name]
        names |= {key for key in definition.get("attributes", {}) if not key.startswith("$")}
        name = definition.get("extends")
    return names


for name, item in schema["classes"].items():
    own = own_attributes(name)
    for key, attribute in item.get("attributes", {}).items():
        if key in own and "profile" in attribute:
            del attribute["profile"]

json.dump(schema, open(out, "w"), separators=(",", ":"))
