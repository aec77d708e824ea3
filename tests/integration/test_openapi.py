#!/usr/bin/python3
"""docs/openapi.yaml against the server: the routes and query parameters `dualguardd
--list-routes` prints (the route tables the server registers) are exactly the documented ones;
the document is a well-formed OpenAPI 3 description; and the running daemon refuses unknown
query parameters and bad `limit` values with a 400 that names the parameter."""
import sys
import os
import re
import subprocess
import urllib.parse

import yaml

from dgtest import DAEMON, SOURCE_DIR, run_tests, start_daemon

OPENAPI = os.path.join(SOURCE_DIR, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

CONFIG = """
site: { code: "T-0001", name: 测试 }
persons:
  - { id: chen, name: 陈管理员, roles: [admin] }
  - { id: vic, name: 魏观察, roles: [viewer] }
mqtt:
  - { id: main, uri: "tcp://127.0.0.1:1", client_id: dg-openapi }
points:
  - { id: GT101, name: 氨气, driver: mqtt.main, topic: t/gt101 }
rules:
  - { id: R1, type: high, point: GT101, stages: [ { name: H, limit: 25, priority: high } ] }
"""


def load_spec():
    with open(OPENAPI, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec, obj):
    """obj, or what its local $ref names (every $ref must resolve)."""
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), f"only local references: {ref}"
        node = spec
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
            node = node[part]
        obj = node
    return obj


def walk_refs(spec, node):
    if isinstance(node, dict):
        if "$ref" in node:
            resolve(spec, node)
        for v in node.values():
            walk_refs(spec, v)
    elif isinstance(node, list):
        for v in node:
            walk_refs(spec, v)


def documented(spec, maxima=None):
    """{(METHOD, path): set of query parameter names} from the document; the documented maximum
    of each `limit` into maxima."""
    out = {}
    maxima = {} if maxima is None else maxima
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            params = [resolve(spec, p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
            out[(method.upper(), path)] = {p["name"] for p in params if p["in"] == "query"}
            limit = next((p for p in params if p["in"] == "query" and p["name"] == "limit"), None)
            if limit:
                maxima[(method.upper(), path)] = limit["schema"].get("maximum")
    return out


def registered(maxima=None):
    """{(METHOD, path): set of query parameter names} the server registers; the maximum of each
    `limit` (1000 unless the route says "limit<=N") into maxima."""
    r = subprocess.run([DAEMON, "--list-routes"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = {}
    maxima = {} if maxima is None else maxima
    for line in r.stdout.splitlines():
        method, path, *query = line.split(" ")
        assert (method, path) not in out, f"listed twice: {line}"
        out[(method, path)] = {q.split("<=")[0] for q in query if q}
        for q in query:
            if q.startswith("limit"):
                maxima[(method, path)] = int(q.split("<=")[1]) if "<=" in q else 1000
    assert len(out) >= 20, r.stdout
    return out


def test_document_is_openapi3(workdir, cleanup):
    spec = load_spec()
    assert re.fullmatch(r"3\.0\.\d+", str(spec.get("openapi"))), spec.get("openapi")
    assert spec["info"]["title"] and spec["info"]["version"]
    walk_refs(spec, spec)
    schemes = spec["components"]["securitySchemes"]
    op_ids = set()
    for path, item in spec["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= set(METHODS) | {"parameters", "summary", "description"}, (path, set(item))
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            where = f"{method.upper()} {path}"
            assert op.get("summary"), f"{where}: no summary"
            assert op.get("operationId") and op["operationId"] not in op_ids, f"{where}: operationId missing or reused"
            op_ids.add(op["operationId"])
            assert op.get("responses"), f"{where}: no responses"
            for code, r in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|default", str(code)), f"{where}: response {code}"
                assert resolve(spec, r).get("description"), f"{where} {code}: no description"
            params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            for p in params:
                assert p["in"] in ("query", "path", "header", "cookie") and p.get("name"), f"{where}: {p}"
                assert "schema" in p or "content" in p, f"{where}: parameter {p['name']} has no schema"
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == names, f"{where}: path parameters {sorted(in_path)} vs template {sorted(names)}"
            assert all(p.get("required") for p in params if p["in"] == "path"), f"{where}: path parameter not required"
            for req in op.get("security", spec.get("security", [])):
                assert set(req) <= set(schemes), f"{where}: unknown security scheme {req}"


def test_routes_match_document(workdir, cleanup):
    doc_max, reg_max = {}, {}
    doc, reg = documented(load_spec(), doc_max), registered(reg_max)
    missing = sorted(f"{m} {p}" for m, p in set(reg) - set(doc))
    stale = sorted(f"{m} {p}" for m, p in set(doc) - set(reg))
    assert not missing, f"routes registered but not in docs/openapi.yaml: {missing}"
    assert not stale, f"routes in docs/openapi.yaml that the server does not register: {stale}"
    for key in reg:
        assert reg[key] == doc[key], f"{key[0]} {key[1]}: query parameters {sorted(reg[key])} registered, " \
                                     f"{sorted(doc[key])} documented"
    assert doc_max == reg_max, f"limit maxima: {reg_max} registered, {doc_max} documented"


def concrete(path):
    """A request path for a route pattern (1 for each {parameter})."""
    return re.sub(r"\{[^}]+\}", "1", path)


# Routes anyone may call: probes and metrics for monitoring, the phone pages of a signed post link,
# the one-time acknowledgement link, logging in and out.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/ack"), ("POST", "/api/v1/ack"),
          ("GET", "/p/{key}"), ("GET", "/p/{key}/emergency-card"), ("GET", "/p/{key}/knowledge-card"),
          ("POST", "/api/v1/login"), ("POST", "/api/v1/logout")}
# Reads a viewer may not make, and the one change every signed-in person may make (their password;
# it needs a login session, so a viewer's API token gets 401 there, not 403).
ADMIN_READS = {("GET", "/api/v1/accounts"), ("GET", "/api/v1/tokens")}
VIEWER_MAY = {("POST", "/api/v1/account/password")}
# A real action for each {action} route, so the role check is reached, not an unknown-action 404.
ACTIONS = {"/api/v1/alarms/{id}/{action}": "/api/v1/alarms/1/ack",
           "/api/v1/hazards/{id}/{action}": "/api/v1/hazards/1/submit",
           "/api/v1/accounts/{login}/{action}": "/api/v1/accounts/vic/disable",
           "/api/v1/model/{kind}": "/api/v1/model/units",
           "/api/v1/model/{kind}/{id}": "/api/v1/model/units/U1"}


def check_route_rights(daemon, viewer):
    """What is wrong with the rights of every registered route, as a list of lines."""
    wrong = []
    for (method, path) in sorted(registered()):
        url = ACTIONS.get(path) or concrete(path)
        body = None if method in ("GET", "DELETE") else {}
        anonymous = daemon.request(method, url, body, token="", timeout=10)[0]
        if (method, path) in PUBLIC:
            if anonymous in (401, 403):
                wrong.append(f"{method} {path}: public, but {anonymous} without credentials")
            continue
        if anonymous != 401:
            wrong.append(f"{method} {path}: {anonymous} without credentials, expected 401")
        if path == "/api/v1/events":
            continue  # a viewer's read opens the stream (test_events reads it)
        as_viewer = daemon.request(method, url, body, token=viewer, timeout=10)[0]
        forbidden = (method, path) in ADMIN_READS if method == "GET" else (method, path) not in VIEWER_MAY
        if forbidden and as_viewer != 403:
            wrong.append(f"{method} {path}: {as_viewer} for a viewer, expected 403")
        if not forbidden and (as_viewer == 403 or (as_viewer == 401 and (method, path) not in VIEWER_MAY)):
            wrong.append(f"{method} {path}: {as_viewer} for a viewer, expected the call to be allowed")
    return wrong


def test_every_route_checks_auth_and_role(workdir, cleanup):
    """Every registered route, called with no credentials, answers 401 unless it is public; called
    by a viewer (read-only role), every change answers 403 and every read but the admin's is
    allowed. A route added without its checks fails here, whatever the route is; and the check
    itself catches a route whose rights are wrongly classified."""
    daemon = start_daemon(workdir, cleanup, CONFIG)
    viewer = daemon.token("vic")
    wrong = check_route_rights(daemon, viewer)
    assert not wrong, "\n".join(wrong)
    VIEWER_MAY.add(("POST", "/api/v1/tokens"))  # pretend a viewer may create tokens: it must be caught
    try:
        assert check_route_rights(daemon, viewer) == ["POST /api/v1/tokens: 403 for a viewer, expected the call to be allowed"]
    finally:
        VIEWER_MAY.discard(("POST", "/api/v1/tokens"))
    assert daemon.stop() == 0


def test_unknown_query_and_bad_limit_answer_400(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    token = daemon.token("chen")
    maxima = {}
    for (method, path), query in registered(maxima).items():
        url = concrete(path) + "?bogus_param=1"
        status, _, raw = daemon.request(method, url, b"" if method != "GET" else None, token=token)
        assert status == 400 and b"bogus_param" in raw, (method, url, status, raw)
        if "limit" in query:
            for bad in ("0", "-3", str(maxima[(method, path)] + 1), "ten", "5x", ""):
                url = concrete(path) + "?limit=" + urllib.parse.quote(bad)
                status, _, raw = daemon.request(method, url, token=token)
                assert status == 400 and raw.startswith(b'{"error":"limit:'), (url, status, raw)
    status, body = daemon.get("/api/v1/hazards?state=all&limit=1000")
    assert status == 200 and body["hazards"] == []
    status, _, raw = daemon.request("GET", "/api/v1/alarms?state=all&State=all")
    assert status == 400 and b"State: unknown query parameter" in raw, raw


def test_cursor_pages_through_hazards(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    ids = []
    for i in range(5):
        status, h = daemon.post("/api/v1/hazards", {"description": f"隐患 {i}", "danger_src": 1}, actor="chen")
        assert status == 201, h
        ids.append(h["id"])
    seen, cursor, pages = [], None, 0
    while True:
        status, body = daemon.get("/api/v1/hazards?state=all&limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(body["hazards"]) <= 2, body
        seen += [h["id"] for h in body["hazards"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "next_cursor never ends"
    assert seen == sorted(ids, reverse=True) and pages == 3, (seen, pages)
    status, body = daemon.get_status("/api/v1/hazards?cursor=abc")
    assert status == 400 and body["error"].startswith("cursor:"), body
    status, body = daemon.get("/api/v1/inspections?status=all&limit=1")
    assert status == 200 and "next_cursor" in body, body
    status, body = daemon.get("/api/v1/model/audit?limit=1")
    assert status == 200 and "next_cursor" in body, body
    status, body = daemon.get("/api/v1/notifications?limit=1")
    assert status == 200 and body["next_cursor"] is None, body


if __name__ == "__main__":
    sys.exit(run_tests([test_every_route_checks_auth_and_role, test_document_is_openapi3, test_routes_match_document, test_unknown_query_and_bad_limit_answer_400,
               test_cursor_pages_through_hazards]))
