"""The API reference page, rendered on the server from the OpenAPI schema (no CDN, no JS)."""

from __future__ import annotations

from html import escape
from typing import Any

_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def render_docs(openapi: dict[str, Any]) -> str:
    """An HTML page listing every operation with its parameters, body and responses."""
    info = openapi.get("info", {})
    sections = []
    for path, operations in openapi.get("paths", {}).items():
        for method in _METHOD_ORDER:
            if method in operations:
                sections.append(_operation(path, method, operations[method], openapi))
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')} API")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="docs">
<h1>{title}</h1>
<p>{escape(info.get("description", ""))}</p>
<p>Machine-readable schema: <a href="/openapi.json">/openapi.json</a> (OpenAPI
{escape(str(openapi.get("openapi", "")))}). Examples:</p>
<pre>curl -F file=@clip.mp4 -F fps=2 http://127.0.0.1:8000/api/v1/analyses
curl http://127.0.0.1:8000/api/v1/analyses/ID
curl -o report.html http://127.0.0.1:8000/api/v1/analyses/ID/report.html</pre>
{"".join(sections)}
</main></body></html>
"""


def _operation(path: str, method: str, op: dict[str, Any], openapi: dict[str, Any]) -> str:
    rows = []
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        rows.append(
            f"<tr><td><code>{escape(param['name'])}</code></td><td>{escape(param.get('in', ''))}"
            f"</td><td>{escape(_type(schema, openapi))}</td>"
            f"<td>{escape(param.get('description', '') or _default(schema))}</td></tr>"
        )
    body = op.get("requestBody", {}).get("content", {})
    for media_type, content in body.items():
        schema = _resolve(content.get("schema", {}), openapi)
        for name, prop in schema.get("properties", {}).items():
            rows.append(
                f"<tr><td><code>{escape(name)}</code></td><td>{escape(media_type)}</td>"
                f"<td>{escape(_type(prop, openapi))}</td>"
                f"<td>{escape(prop.get('description', ''))}</td></tr>"
            )
    params = (
        "<table><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else ""
    )
    responses = "".join(
        f"<li><code>{escape(code)}</code> {escape(resp.get('description', ''))}</li>"
        for code, resp in op.get("responses", {}).items()
    )
    doc = escape(op.get("description", "") or "")
    return (
        f'<section class="op"><h2><span class="method {method}">{method.upper()}</span> '
        f"<code>{escape(path)}</code></h2><p>{escape(op.get('summary', ''))}</p>"
        f"<p>{doc}</p>{params}<ul>{responses}</ul></section>"
    )


def _resolve(schema: dict[str, Any], openapi: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node = openapi
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part, {})
    return node


def _type(schema: dict[str, Any], openapi: dict[str, Any]) -> str:
    schema = _resolve(schema, openapi)
    if "anyOf" in schema:
        return " | ".join(_type(s, openapi) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "object")
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _default(schema: dict[str, Any]) -> str:
    return f"default {schema['default']}" if "default" in schema else ""
