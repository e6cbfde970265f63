"""Checks ARM request bodies against Microsoft's SDK models.

Issue 14 asks that every request body the provider sends uses only properties
that the azure-mgmt-* models define. Given a journal from the emulator
(`GET /admin/journal`), this finds each PUT/PATCH body's model and reports
properties the model does not define (`unknown`) and read-only ones (`readonly`,
which ARM ignores). Usage: `python body_check.py journal.json` prints a JSON
report and exits 1 when any body has unknown properties.
"""

import json
import re
import sys
import typing

from azure.mgmt import appcontainers, cdn
from azure.mgmt.appcontainers import models as app_models
from azure.mgmt.cdn import models as cdn_models
from azure.mgmt.resource.resources.v2021_04_01 import models as resource_models

# (method, path regex) -> model of the request body, as the SDK operations declare.
_OPERATIONS = [
    ("PUT", r"/containerapps/[^/]+$", app_models.ContainerApp),
    ("PATCH", r"/containerapps/[^/]+$", app_models.ContainerApp),
    ("PUT", r"/microsoft\.cdn/profiles/[^/]+$", cdn_models.Profile),
    ("PATCH", r"/microsoft\.cdn/profiles/[^/]+$", cdn_models.ProfileUpdateParameters),
    ("PUT", r"/afdendpoints/[^/]+$", cdn_models.AFDEndpoint),
    ("PATCH", r"/afdendpoints/[^/]+$", cdn_models.AFDEndpointUpdateParameters),
    ("PUT", r"/routes/[^/]+$", cdn_models.Route),
    ("PATCH", r"/routes/[^/]+$", cdn_models.RouteUpdateParameters),
    ("PUT", r"/origingroups/[^/]+$", cdn_models.AFDOriginGroup),
    ("PATCH", r"/origingroups/[^/]+$", cdn_models.AFDOriginGroupUpdateParameters),
    ("PUT", r"/origins/[^/]+$", cdn_models.AFDOrigin),
    ("PATCH", r"/origins/[^/]+$", cdn_models.AFDOriginUpdateParameters),
    ("PUT", r"/rulesets/[^/]+$", cdn_models.RuleSet),
    ("PUT", r"/rules/[^/]+$", cdn_models.Rule),
    ("PATCH", r"/rules/[^/]+$", cdn_models.RuleUpdateParameters),
    ("PUT", r"/providers/microsoft\.resources/tags/default$", resource_models.TagsResource),
    ("PATCH", r"/providers/microsoft\.resources/tags/default$", resource_models.TagsPatchResource),
]


def model_for(method, path):
    """The SDK model of a request body, or None for a request without one."""
    lower = path.lower()
    for m, pattern, model in _OPERATIONS:
        if m == method and re.search(pattern, lower):
            return model
    return None


def _is_model(cls):
    return isinstance(cls, type) and hasattr(cls, "_calculated")


def _fields(cls):
    """The model's attribute -> rest field map; the SDK computes it on first instantiation."""
    cls.__new__(cls)
    return cls._attr_to_rest_field


def _hints(cls):
    package = appcontainers if cls.__module__.startswith("azure.mgmt.appcontainers") else cdn
    namespace = dict(vars(sys.modules[cls.__module__]))
    namespace["_models"] = package.models
    hints = {}
    for klass in reversed(cls.__mro__):
        if _is_model(klass):
            try:
                hints.update(typing.get_type_hints(klass, globalns=namespace))
            except Exception:  # noqa: BLE001 - an unresolvable hint only loses depth
                pass
    return hints


def _inner_model(annotation):
    """The model class inside Optional[...], list[...], Union[...]; None for dicts and scalars."""
    if _is_model(annotation):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (dict, typing.Dict):
        return None
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _concrete(cls, value):
    """The subclass a discriminator value selects (e.g. a DeliveryRuleCondition's `name`)."""
    mapping = getattr(cls, "__mapping__", None)
    if not mapping:
        return cls
    for rf in _fields(cls).values():
        if getattr(rf, "_is_discriminator", False):
            sub = mapping.get(value.get(rf._rest_name))
            if sub is not None and sub is not cls:
                return _concrete(sub, value)
    return cls


def _is_msrest_model(cls):
    """An older-style (msrest) model, such as azure-mgmt-resource's: `_attribute_map` and `_validation`."""
    return isinstance(cls, type) and hasattr(cls, "_attribute_map") and not _is_model(cls)


def _msrest_type(cls, type_name):
    """The model a msrest type name (`Tags`, `[Tags]`, `{Tags}`) names; None for str, dicts of str…"""
    inner = type_name.strip("[]{}")
    found = getattr(sys.modules[cls.__module__], inner, None)
    return found if _is_msrest_model(found) else None


def _check_msrest(cls, value, path):
    unknown, readonly = [], []
    fields = {spec["key"]: (attr, spec) for attr, spec in cls._attribute_map.items()}
    validation = getattr(cls, "_validation", {})
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            unknown.append(where)
            continue
        attr, spec = fields[key]
        if validation.get(attr, {}).get("readonly"):
            readonly.append(where)
        inner = _msrest_type(cls, spec["type"])
        if spec["type"].startswith("{") and inner is not None and isinstance(item, dict):
            for name, entry in item.items():
                u, r = check(inner, entry, f"{where}.{name}")
                unknown += u
                readonly += r
        else:
            u, r = check(inner, item, where)
            unknown += u
            readonly += r
    return unknown, readonly


def check(cls, value, path=""):
    """Lists (unknown, readonly) property paths of `value` under model `cls`."""
    unknown, readonly = [], []
    if isinstance(value, list):
        for i, item in enumerate(value):
            u, r = check(cls, item, f"{path}[{i}]")
            unknown += u
            readonly += r
        return unknown, readonly
    if isinstance(value, dict) and _is_msrest_model(cls):
        return _check_msrest(cls, value, path)
    if not isinstance(value, dict) or not _is_model(cls):
        return unknown, readonly
    cls = _concrete(cls, value)
    fields = {rf._rest_name: (attr, rf) for attr, rf in _fields(cls).items()}
    hints = _hints(cls)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            unknown.append(where)
            continue
        attr, rf = fields[key]
        if getattr(rf, "_visibility", None) == ["read"]:
            readonly.append(where)
        u, r = check(_inner_model(hints.get(attr)), item, where)
        unknown += u
        readonly += r
    return unknown, readonly


def check_journal(entries):
    """A report over the journal's PUT/PATCH bodies."""
    report = {"checked": 0, "unknown": [], "readonly": [], "no_model": []}
    for e in entries:
        if e["method"] not in ("PUT", "PATCH") or not isinstance(e.get("body"), dict):
            continue
        model = model_for(e["method"], e["path"])
        if model is None:
            report["no_model"].append({"method": e["method"], "path": e["path"]})
            continue
        report["checked"] += 1
        unknown, readonly = check(model, e["body"])
        if unknown:
            report["unknown"].append({"method": e["method"], "path": e["path"], "properties": unknown})
        if readonly:
            report["readonly"].append({"method": e["method"], "path": e["path"], "properties": readonly})
    return report


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        report = check_journal(json.load(f))
    print(json.dumps(report, indent=2))
    return 1 if report["unknown"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
