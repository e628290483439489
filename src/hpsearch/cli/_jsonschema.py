"""``hpsearch schema``: a JSON Schema of study files, for editors.

It is generated from the definitions that check study files
(:mod:`hpsearch.cli._schema`: the fields of each table, ``KINDS``,
``DISTRIBUTIONS``; scikit-learn's scorer names), so the two cannot drift
apart. TOML editors that read JSON Schemas (Even Better TOML / taplo, the
JetBrains IDEs) then complete keys, show their help and flag unknown keys and
wrong types; hpsearch itself still checks what a schema cannot (import paths,
parameter names and values against the estimator, the data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from sklearn.metrics import get_scorer_names

from hpsearch.cli._app import cli
from hpsearch.cli._data import DATA_FIELDS
from hpsearch.cli._schema import (
    CV_FIELDS,
    DISTRIBUTIONS,
    ESTIMATOR_FIELDS,
    NONE,
    SEARCH_FIELDS,
    STEP_FIELDS,
    TOP_FIELDS,
    Field,
)

SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
# An import path: "package.module.Class".
IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"


def _field(field: Field) -> dict[str, Any]:
    """The JSON Schema of one field."""
    schema: dict[str, Any]
    if field.schema is not None:
        schema = dict(field.schema)
    elif field.kind == "names":
        schema = {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
        }
    elif field.kind == "table":
        schema = {"type": "object"}
    elif field.kind == "any":
        schema = {}
    else:
        schema = {"type": field.kind}
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.kind == "string" and field.nonempty:
            schema["minLength"] = 1
        if field.enum:
            schema["enum"] = list(field.enum)
    return {"description": field.help, **schema}


def _table(
    fields: Mapping[str, Field], description: str, **more: dict[str, Any]
) -> dict[str, Any]:
    """A table whose keys are ``fields``; ``more`` replaces some keys' schemas."""
    properties = {}
    for key, field in fields.items():
        properties[key] = {**_field(field), **more.get(key, {})}
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }


def _distribution(name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    kinds = {
        "values": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/definitions/value"},
        },
        "low": {"type": "integer" if name == "randint" else "number"},
        "high": {"type": "integer" if name == "randint" else "number"},
        "mean": {"type": "number"},
        "std": {"type": "number", "exclusiveMinimum": 0},
    }
    return {
        "type": "object",
        "description": f"A {name} distribution (random search only).",
        "properties": {"dist": {"const": name}, **{k: kinds[k] for k in keys}},
        "required": ["dist", *keys],
        "additionalProperties": False,
    }


def study_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a study file."""
    estimator = _table(
        ESTIMATOR_FIELDS,
        "An estimator: its class and fixed parameters.",
        params={"additionalProperties": {"$ref": "#/definitions/value"}},
    )
    estimator["properties"]["class"]["pattern"] = IMPORT_PATH
    estimator["required"] = ["class"]
    step = _table(
        STEP_FIELDS,
        "One step of the pipeline.",
        params={"additionalProperties": {"$ref": "#/definitions/value"}},
    )
    step["properties"]["class"]["pattern"] = IMPORT_PATH
    step["required"] = ["name", "class"]
    top_estimator = {
        **estimator,
        "description": TOP_FIELDS["estimator"].help,
        "properties": {
            **estimator["properties"],
            "steps": {
                "type": "array",
                "minItems": 1,
                "description": "A pipeline: one [[estimator.steps]] table per step.",
                "items": step,
            },
        },
        "required": [],
        "oneOf": [{"required": ["class"]}, {"required": ["steps"]}],
    }
    space = {
        "type": "object",
        "description": "Parameter names (step__param) and their values: an array, "
        "or a distribution table for a random search.",
        "additionalProperties": {
            "anyOf": [
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/definitions/value"},
                },
                {"$ref": "#/definitions/distribution"},
            ]
        },
    }
    scorers = sorted(get_scorer_names())
    search = _table(
        SEARCH_FIELDS,
        TOP_FIELDS["search"].help,
        space={"anyOf": [space, {"type": "array", "minItems": 1, "items": space}]},
        scoring={
            "anyOf": [
                {"enum": scorers},
                {"type": "array", "minItems": 1, "items": {"enum": scorers}},
            ]
        },
        refit={"anyOf": [{"type": "boolean"}, {"enum": scorers}]},
    )
    search["required"] = ["space"]
    data = _table(DATA_FIELDS, TOP_FIELDS["data"].help)
    data["required"] = ["source"]
    properties: dict[str, Any] = {
        key: _field(field) for key, field in TOP_FIELDS.items() if field.kind != "table"
    }
    properties.update(
        data=data,
        estimator=top_estimator,
        search=search,
        cv=_table(CV_FIELDS, TOP_FIELDS["cv"].help),
    )
    return {
        "$schema": SCHEMA_DRAFT,
        "title": "hpsearch study file",
        "description": "One search: data, estimator, space, cv. Run it with "
        "`hpsearch run FILE.toml`. Generated by `hpsearch schema`.",
        "type": "object",
        "properties": properties,
        "required": ["data", "estimator", "search"],
        "additionalProperties": False,
        "definitions": {
            "estimator": estimator,
            "distribution": {
                "oneOf": [
                    _distribution(name, keys)
                    for name, (keys, _) in DISTRIBUTIONS.items()
                ]
            },
            "value": {
                "description": "A parameter value: a number, a string "
                f'("{NONE}" is None), a boolean, an array, an estimator table '
                "{ class = ..., params = ... }, or a table of values.",
                "anyOf": [
                    {"type": ["string", "number", "boolean"]},
                    {"type": "array", "items": {"$ref": "#/definitions/value"}},
                    {"$ref": "#/definitions/estimator"},
                    {"type": "object", "not": {"required": ["class"]}},
                ],
            },
        },
    }


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write [default: stdout].",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of study files, for editors' completion and checks.

    \b
    Examples:
      hpsearch schema -o hpsearch.schema.json
    then start a study file with the line
      #:schema ./hpsearch.schema.json
    """
    text = json.dumps(study_file_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote the JSON Schema of study files to {output}.", err=True)
