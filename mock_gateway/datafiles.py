"""The gateway's data files (mock_gateway/data/*.json): loaded once, checked before use.

The data lives in JSON so it can be reviewed and edited without touching code. A hand edit
can break it, so every file is checked for shape and for references into the other files
when first loaded, and a broken one stops the gateway with the file and the place named,
rather than serving half a catalog or failing later on a KeyError. Any object may carry an
"about" note for its readers; the gateway ignores it.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

MODES = ("in_person", "one_trip", "zero_trip")
STATUSES = ("valid", "expired", "revoked")
MATERIAL_SOURCES = ("certificate", "upload", "paper")

_NONE = type(None)
_ITEM_FIELDS = {
    "code": str,
    "name": str,
    "category": str,
    "department": str,
    "livelihood": bool,
    "secret": bool,
    "handheld": bool,
    "online": bool,
    "mode": str,
    "materials": list,
    "window": str,
}


class DataError(ValueError):
    """A data file is missing, is not JSON, or does not hold what the gateway needs."""


def path_of(name: str) -> str:
    """How messages name a data file: by the path a reader would open."""
    return f"mock_gateway/data/{name}"


def load(name: str) -> Any:
    """The parsed content of mock_gateway/data/<name>, read as package data."""
    try:
        text = (files("mock_gateway") / "data" / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"{path_of(name)}: file missing") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path_of(name)}: not valid JSON: {exc}") from exc


def record(value: Any, where: str, required: dict, optional: dict | None = None) -> dict:
    """Checks that value is an object with exactly these keys, each of its type."""
    optional = {"about": str, **(optional or {})}
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected an object, found {type(value).__name__}")
    missing = [k for k in required if k not in value]
    # Unknown keys are refused so that a misspelt optional key is not silently ignored.
    unknown = [k for k in value if k not in required and k not in optional]
    check(not missing, where, f"missing {', '.join(missing)}")
    check(not unknown, where, f"unknown key {', '.join(unknown)} (misspelt?)")
    for key, kind in {**required, **optional}.items():
        if key in value:
            check_type(value[key], kind, f"{where}.{key}")
    return value


def check_type(value: Any, kind: type | tuple, where: str) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int to Python, but true is not a number of years to a reader.
    if isinstance(value, bool) and bool not in kinds:
        raise DataError(f"{where}: expected {_names(kinds)}, found a boolean")
    if not isinstance(value, kinds):
        raise DataError(f"{where}: expected {_names(kinds)}, found {type(value).__name__}")


def check(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise DataError(f"{where}: {problem}")


def string_map(value: Any, where: str) -> dict[str, str]:
    check_type(value, dict, where)
    for key, text in value.items():
        check_type(text, str, f"{where}.{key}")
    return value


def string_list(value: Any, where: str) -> list[str]:
    check_type(value, list, where)
    check(bool(value), where, "must not be empty")
    for i, text in enumerate(value):
        check_type(text, str, f"{where}[{i}]")
        check(bool(text), f"{where}[{i}]", "must not be empty")
    return value


def iso_date(value: Any, where: str) -> date:
    check_type(value, str, where)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise DataError(f"{where}: {value!r} is not a YYYY-MM-DD date") from exc


def unique(values: list[str], where: str) -> None:
    seen: set[str] = set()
    for value in values:
        check(value not in seen, where, f"{value!r} appears twice")
        seen.add(value)


def _names(kinds: tuple) -> str:
    return " or ".join("null" if k is _NONE else k.__name__ for k in kinds)


@cache
def issuers() -> list[dict]:
    where = path_of("issuers.json")
    data = record(load("issuers.json"), where, {"issuers": list})
    for i, issuer in enumerate(data["issuers"]):
        at = f"{where}: issuers[{i}]"
        record(issuer, at, {"code": str, "name": str, "seal": str})
        check(issuer["seal"] in ("ed25519", "sm2"), at, "seal is 'ed25519' or 'sm2'")
    unique([issuer["code"] for issuer in data["issuers"]], f"{where}: issuers")
    return data["issuers"]


@cache
def certificate_types() -> list[dict]:
    where = path_of("certificate_types.json")
    data = record(load("certificate_types.json"), where, {"types": list})
    known_issuers = {issuer["code"] for issuer in issuers()}
    fields = {
        "code": str,
        "name": str,
        "material_code": str,
        "issuer_code": str,
        "years_valid": (int, _NONE),
    }
    for i, cert_type in enumerate(data["types"]):
        at = f"{where}: types[{i}]"
        record(cert_type, at, fields)
        issuer = cert_type["issuer_code"]
        check(issuer in known_issuers, at, f"issuer_code {issuer!r} is not in issuers.json")
        years = cert_type["years_valid"]
        check(years is None or years > 0, at, "years_valid must be positive or null")
    unique([t["code"] for t in data["types"]], f"{where}: types")
    unique([t["material_code"] for t in data["types"]], f"{where}: types material_code")
    return data["types"]


@cache
def catalog() -> dict:
    where = path_of("catalog.json")
    required = {"hall": str, "hours": str, "uploads": dict, "papers": dict, "items": list}
    data = record(load("catalog.json"), where, required)
    string_map(data["uploads"], f"{where}: uploads")
    string_map(data["papers"], f"{where}: papers")
    for i, item in enumerate(data["items"]):
        at = f"{where}: items[{i}]"
        record(item, at, _ITEM_FIELDS, {"result_certificate_type": str})
        check(item["mode"] in MODES, f"{at}.mode", f"{item['mode']!r} is not one of {MODES}")
        if "result_certificate_type" in item:
            result = item["result_certificate_type"]
            known = {t["code"] for t in certificate_types()}
            check(result in known, at, f"unknown result_certificate_type {result!r}")
        for j, material in enumerate(item["materials"]):
            _check_material(material, data, f"{at}.materials[{j}]")
    unique([item["code"] for item in data["items"]], f"{where}: items")
    return data


def _check_material(material: Any, catalog_data: dict, where: str) -> None:
    check_type(material, dict, where)
    source = material.get("source")
    check(source in MATERIAL_SOURCES, where, f"source must be one of {MATERIAL_SOURCES}")
    if source == "certificate":
        record(material, where, {"source": str, "certificate_type": str})
        known = {t["code"] for t in certificate_types()}
        cert_type = material["certificate_type"]
        check(cert_type in known, where, f"unknown certificate_type {cert_type!r}")
    else:
        record(material, where, {"source": str, "code": str})
        table = catalog_data["uploads" if source == "upload" else "papers"]
        check(material["code"] in table, where, f"unknown {source} {material['code']!r}")


@cache
def population() -> dict:
    where = path_of("population.json")
    required = {
        "demo_citizens": list,
        "regions": dict,
        "surnames": list,
        "given_names": dict,
        "streets": list,
    }
    data = record(load("population.json"), where, required)
    citizen_fields = {"id_number": str, "name": str, "address": str}
    for i, citizen in enumerate(data["demo_citizens"]):
        record(citizen, f"{where}: demo_citizens[{i}]", citizen_fields)
    unique([c["id_number"] for c in data["demo_citizens"]], f"{where}: demo_citizens")
    record(data["regions"], f"{where}: regions", {"jiaxing": dict, "shanghai": dict})
    for group, regions in data["regions"].items():
        string_map(regions, f"{where}: regions.{group}")
        check(bool(regions), f"{where}: regions.{group}", "must not be empty")
        for code in regions:
            check(len(code) == 6 and code.isdigit(), f"{where}: regions.{group}", f"bad {code!r}")
    overlap = data["regions"]["jiaxing"].keys() & data["regions"]["shanghai"].keys()
    check(not overlap, f"{where}: regions", f"{sorted(overlap)} are in both groups")
    string_list(data["surnames"], f"{where}: surnames")
    record(data["given_names"], f"{where}: given_names", {"male": list, "female": list})
    for sex, names in data["given_names"].items():
        string_list(names, f"{where}: given_names.{sex}")
    string_list(data["streets"], f"{where}: streets")
    return data


@cache
def holdings() -> list[dict]:
    where = path_of("holdings.json")
    data = record(load("holdings.json"), where, {"holders": list})
    citizens = {c["id_number"]: c["name"] for c in population()["demo_citizens"]}
    types = {t["code"] for t in certificate_types()}
    for i, holder in enumerate(data["holders"]):
        at = f"{where}: holders[{i}]"
        record(holder, at, {"id_number": str, "name": str, "certificates": list})
        check(holder["id_number"] in citizens, at, "not a demo citizen in population.json")
        check(citizens[holder["id_number"]] == holder["name"], at, "name differs from register")
        for j, held in enumerate(holder["certificates"]):
            _check_holding(held, types, f"{at}.certificates[{j}]")
    unique([h["id_number"] for h in data["holders"]], f"{where}: holders")
    return data["holders"]


def _check_holding(held: Any, types: set[str], where: str) -> None:
    optional = {"status": str, "valid_until": str, "fields": dict}
    record(held, where, {"type_code": str, "issued_on": str}, optional)
    check(held["type_code"] in types, where, f"unknown type_code {held['type_code']!r}")
    iso_date(held["issued_on"], f"{where}.issued_on")
    if "valid_until" in held:
        iso_date(held["valid_until"], f"{where}.valid_until")
    status = held.get("status", "valid")
    check(status in STATUSES, f"{where}.status", f"{status!r} is not one of {STATUSES}")
