"""Load spec/schemas/*.schema.json and validate documents against them (python3-jsonschema).

The schemas reference each other by relative $ref; all of them are put in one resolver store
under their $id so that nothing is fetched from the network.
"""
import json
import os

import jsonschema


class Schemas:
    def __init__(self, directory):
        self.dir = directory
        self.by_name = {}
        for f in sorted(os.listdir(directory)):
            if f.endswith(".schema.json"):
                with open(os.path.join(directory, f), encoding="utf-8") as fh:
                    self.by_name[f[: -len(".schema.json")]] = json.load(fh)
        if not self.by_name:
            raise RuntimeError("no schemas in " + directory)
        self.store = {s["$id"]: s for s in self.by_name.values()}
        self.validators = {}

    def names(self):
        return sorted(self.by_name)

    def _validator(self, name):
        v = self.validators.get(name)
        if v is None:
            schema = self.by_name[name]
            cls = jsonschema.validators.validator_for(schema)
            resolver = jsonschema.RefResolver(schema["$id"], schema, store=self.store)
            v = cls(schema, resolver=resolver)
            self.validators[name] = v
        return v

    def check_schema(self, name):
        schema = self.by_name[name]
        jsonschema.validators.validator_for(schema).check_schema(schema)

    def errors(self, name, doc):
        """List of human-readable validation errors (empty when doc is valid)."""
        errs = sorted(self._validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", _short(e.message)) for e in errs]


def _short(msg, limit=300):
    return msg if len(msg) <= limit else msg[:limit] + "…"
