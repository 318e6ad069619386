"""Validates OCSF events (one JSON object per line on standard input) against the checked-in
compiled OCSF schema with ocsf-json-schema (JSON Schema per class, with the profiles each event
names in metadata.profiles) and jsonschema (Draft 2020-12).

Prints one line per invalid event and a summary `validated N events, M invalid`; exits 1 when
any event is invalid or the input is empty."""

import gzip
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded

here = pathlib.Path(__file__).parent
with gzip.open(here / "schema.json.gz", "rt") as file:
    schema = OcsfJsonSchemaEmbedded(json.load(file))

validators = {}
count = invalid = 0
for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    count += 1
    profiles = tuple(sorted(event.get("metadata", {}).get("profiles", [])))
    key = (event.get("class_uid"), profiles)
    if key not in validators:
        name = schema.lookup_class_name_from_uid(class_uid=event["class_uid"])
        validators[key] = Draft202012Validator(schema.get_class_schema(class_name=name, profiles=list(profiles)))
    errors = sorted(validators[key].iter_errors(event), key=lambda error: list(error.path))
    if errors:
        invalid += 1
        for error in errors[:5]:
            path = "/".join(str(part) for part in error.path)
            print(f"INVALID seq={event.get('metadata', {}).get('sequence')} at /{path}: {error.message[:300]}")
print(f"validated {count} events, {invalid} invalid")
sys.exit(1 if invalid or count == 0 else 0)
