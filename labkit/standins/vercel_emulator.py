"""A local stand-in for the parts of Vercel's REST API the collection uses.

The real API is unreachable from the test machines; this reproduces its documented behaviour,
errors included (tests/test_vercel_emulator.py pins it): Bearer auth, team scope, API versions
per endpoint, env create/upsert with ENV_CONFLICT, sensitive values that are never returned,
optional pagination, batch delete, deployments that snapshot the production environment at
creation, deploy hooks, and the DNS records of the account's domains (vercel_dns.py).

Test control lives under /_emulator/ (no auth): seed projects and hooks, inject faults
(429 with Retry-After, 5xx, slow answers; with "after": true the request is applied first and
then its answer is delayed or, with "drop": true, the connection closed unanswered), set the
outcome of builds, read the request log, the stored values and the deployments' snapshots.

The lab runs one in the background, seeded with the project the lab inventory names:

    python -m labkit vercel-emulator start | stop | status
    python -m labkit vercel-emulator serve [--port 8787] [--token TOKEN] [--project NAME]
"""

import argparse
import base64
import hashlib
import itertools
import json
import re
import secrets
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from labkit.lab import daemons, paths
from labkit.standins import vercel_dns
from labkit.standins.vercel_scope import in_scope, page_of

TARGETS = {"production", "preview", "development"}
TYPES = {"encrypted", "sensitive", "plain", "system"}
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Vercel's documented reserved names plus the system variables it sets on every deployment.
RESERVED_KEYS = {
    "AWS_SECRET_KEY", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "NOW_REGION", "TZ", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "VERCEL_URL", "VERCEL_ENV",
    "VERCEL_REGION", "VERCEL_BRANCH_URL", "VERCEL_DEPLOYMENT_ID", "VERCEL_PROJECT_PRODUCTION_URL",
}
INVALID_JSON = object()


class ApiError(Exception):
    def __init__(self, status, code, message, beside=None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message, **extra}, **(beside or {})}


def not_found(what="The requested API endpoint was not found."):
    return ApiError(404, "not_found", what)


class State:
    """Everything the emulated account holds; one lock serialises requests."""

    def __init__(self, tokens=()):
        self.lock = threading.Lock()
        self.tokens = set(tokens)
        self.projects = {}
        self.envs = {}
        self.deployments = []
        self.hooks = set()
        self.requests = []
        self.faults = []
        self.page_size = None
        self.build_outcome = "READY"
        self.domains = {}
        self.dns_denied_tokens = set()  # tokens whose scope leaves out DNS (403 on its endpoints)
        self.nameservers = None  # callable(zone, records): where the DNS records are served from
        self.clock = itertools.count(int(time.time() * 1000))

    def now(self):
        return next(self.clock)

    def add_project(self, name, team_id=None, team_slug=None, project_id=None, deployed=True):
        project = {"id": project_id or "prj_" + secrets.token_hex(8), "name": name,
                   "accountId": team_id or "user_emulated", "teamId": team_id, "teamSlug": team_slug}
        self.projects[project["id"]] = project
        self.envs[project["id"]] = []
        if deployed:
            self.create_deployment(project, "production", ready=True)
        return project

    def create_deployment(self, project, target, ready=False, meta=None):
        snapshot = {env["key"]: env["value"] for env in self.envs[project["id"]] if target in env["target"]}
        deployment = {"uid": "dpl_" + secrets.token_hex(8), "name": project["name"],
                      "url": f"{project['name']}-{secrets.token_hex(4)}.vercel.app",
                      "projectId": project["id"], "target": target, "created": self.now(),
                      "createdAt": None,
                      "state": "READY" if ready else "QUEUED", "meta": dict(meta or {}), "env": snapshot}
        deployment["createdAt"] = deployment["created"]
        self.deployments.append(deployment)
        return deployment


def public_env(env, decrypt):
    """An env var as the API shows it: sensitive values never, encrypted ones only decrypted."""
    shown = {k: v for k, v in env.items() if k != "value"}
    if env["type"] == "plain" or (decrypt and env["type"] == "encrypted"):
        shown["value"], shown["decrypted"] = env["value"], env["type"] == "encrypted"
    elif env["type"] != "sensitive":
        shown["value"], shown["decrypted"] = ciphertext(env["value"]), False
    return shown


def ciphertext(value):
    return base64.b64encode(hashlib.sha256(b"emulated-kms" + value.encode()).digest()).decode()


def deployment_view(deployment):
    """One deployment as GET/POST /v13/deployments answer: `id` and `readyState`."""
    view = {k: v for k, v in deployment.items() if k not in ("env", "uid", "state")}
    view["id"], view["readyState"] = deployment["uid"], deployment["state"]
    return view


def listed_deployment(deployment):
    """One deployment as GET /v6/deployments lists it: `uid`, `state` and `readyState`, no `id`."""
    view = {k: v for k, v in deployment.items() if k != "env"}
    view["readyState"] = deployment["state"]
    return view


class Api:
    """The emulated endpoints: (method, pattern) -> handler(match, query, body)."""

    def __init__(self, state):
        self.state = state
        self.routes = [
            ("GET", r"/v2/user", self.get_user),
            ("GET", r"/v9/projects/([^/]+)", self.get_project),
            ("GET", r"/v(?:9|10)/projects/([^/]+)/env", self.list_env),
            ("POST", r"/v10/projects/([^/]+)/env", self.create_env),
            ("GET", r"/v1/projects/([^/]+)/env/([^/]+)", self.get_env),
            ("PATCH", r"/v9/projects/([^/]+)/env/([^/]+)", self.edit_env),
            ("DELETE", r"/v9/projects/([^/]+)/env/([^/]+)", self.delete_env),
            ("DELETE", r"/v1/projects/([^/]+)/env", self.batch_delete_env),
            ("GET", r"/v(?:6|7)/deployments", self.list_deployments),
            ("POST", r"/v13/deployments", self.create_deployment),
            ("GET", r"/v13/deployments/([^/]+)", self.get_deployment),
        ]
        self.dns = vercel_dns.DnsApi(state, ApiError)

    def handle(self, method, path, query, body, token):
        hook = re.fullmatch(r"/v1/integrations/deploy/([^/]+)/([^/]+)", path)
        if hook and method == "POST":
            return 201, self.deploy_hook(hook.group(1), hook.group(2))
        for route_method, pattern, handler in self.routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                self.authorize(token)
                return handler(match, query, body)
        for route_method, pattern, handler in self.dns.routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                self.authorize(token)
                return handler(match, query, body, token)
        raise not_found()

    def authorize(self, token):
        if token not in self.state.tokens:
            raise ApiError(403, "forbidden", "Not authorized", invalidToken=True)

    # Projects

    def project(self, id_or_name, query):
        for project in self.state.projects.values():
            if id_or_name in (project["id"], project["name"]) and in_scope(project, query):
                return project
        raise not_found("Project not found")

    def get_user(self, match, query, body):
        return 200, {"user": {"id": "user_emulated", "username": "emulated", "email": "user@example.test"}}

    def get_project(self, match, query, body):
        return 200, self.project(match.group(1), query)

    # Environment variables

    def list_env(self, match, query, body):
        project = self.project(match.group(1), query)
        decrypt = query.get("decrypt") == "true"
        envs = self.state.envs[project["id"]]
        limit = int(query["limit"]) if query.get("limit") else self.state.page_size
        if not limit:
            envs = sorted(envs, key=lambda env: env["createdAt"], reverse=True)
            return 200, {"envs": [public_env(env, decrypt) for env in envs]}
        page, pagination = page_of(envs, query.get("until"), limit)
        return 200, {"envs": [public_env(env, decrypt) for env in page], "pagination": pagination}

    def validate_env(self, item):
        if not isinstance(item, dict):
            raise ApiError(400, "bad_request", "Each environment variable must be an object.")
        key = item.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ApiError(400, "bad_request",
                           f"The name of your Environment Variable `{key}` is invalid. It can only "
                           "contain letters, digits and underscores and cannot start with a digit.", key=key)
        if key in RESERVED_KEYS:
            raise ApiError(400, "ENV_KEY_RESERVED", f"The name `{key}` is reserved.", key=key)
        if not isinstance(item.get("value"), str):
            raise ApiError(400, "bad_request", f"Missing value for `{key}`.", key=key)
        if item.get("type") not in TYPES:
            raise ApiError(400, "bad_request", f"Invalid type for `{key}`.", key=key)
        targets = item.get("target")
        if not isinstance(targets, list) or not targets or not set(targets) <= TARGETS:
            raise ApiError(400, "bad_request", f"Invalid target for `{key}`.", key=key)
        if item.get("gitBranch") and targets != ["preview"]:
            raise ApiError(400, "git_branch_preview_only", "A Git branch can only be set for Environment "
                           "Variables that target Preview only.", key=key)
        if item["type"] == "sensitive" and "development" in targets:
            raise ApiError(400, "bad_request", "Sensitive Environment Variables cannot be created in the "
                           "Development Environment.", key=key)
        if len(item.get("comment") or "") > 500:
            raise ApiError(400, "bad_request", f"The comment of `{key}` is too long.", key=key)

    def conflicts(self, project_id, item, ignore_id=None):
        return [env for env in self.state.envs[project_id]
                if env["id"] != ignore_id and env["key"] == item["key"]
                and (env.get("gitBranch") or None) == (item.get("gitBranch") or None)
                and set(env["target"]) & set(item["target"])]

    def conflict_error(self, item, env):
        branch = item.get("gitBranch") or "undefined"
        return ApiError(400, "ENV_CONFLICT",
                        f"A variable with the name `{item['key']}` already exists for the target "
                        f"{','.join(sorted(set(env['target']) & set(item['target'])))} on branch {branch}",
                        key=item["key"], envVarId=env["id"], target=env["target"])

    def store(self, project_id, item, upsert):
        self.validate_env(item)
        clashes = self.conflicts(project_id, item)
        if clashes:
            same = [env for env in clashes if set(env["target"]) == set(item["target"])]
            if upsert and len(clashes) == 1 and same:
                env = same[0]
                env.update(value=item["value"], type=item["type"], comment=item.get("comment", ""),
                           updatedAt=self.state.now())
                return env
            raise self.conflict_error(item, clashes[0])
        now = self.state.now()
        env = {"id": secrets.token_hex(8), "key": item["key"], "value": item["value"], "type": item["type"],
               "target": sorted(item["target"]), "comment": item.get("comment", ""),
               "configurationId": None, "createdAt": now, "updatedAt": now}
        if item.get("gitBranch"):
            env["gitBranch"] = item["gitBranch"]
        self.state.envs[project_id].append(env)
        return env

    def create_env(self, match, query, body):
        project = self.project(match.group(1), query)
        upsert = query.get("upsert") == "true"
        if isinstance(body, dict):
            env = self.store(project["id"], body, upsert)
            return 201, {"created": public_env(env, False), "failed": []}
        if not isinstance(body, list):
            raise ApiError(400, "bad_request", "Invalid request body.")
        created, failed = [], []
        for item in body:
            try:
                created.append(public_env(self.store(project["id"], item, upsert), False))
            except ApiError as error:
                failed.append({"error": {**error.body["error"], "key": (item or {}).get("key")}})
        if failed and not created:
            # Vercel puts the per-item reasons beside the error object, not in it.
            raise ApiError(400, "BAD_REQUEST", "No environment variables were created",
                           beside={"failed": failed})
        return 201, {"created": created, "failed": failed}

    def find_env(self, project, env_id):
        for env in self.state.envs[project["id"]]:
            if env["id"] == env_id:
                return env
        raise not_found("Environment Variable not found")

    def get_env(self, match, query, body):
        project = self.project(match.group(1), query)
        return 200, public_env(self.find_env(project, match.group(2)), True)

    def edit_env(self, match, query, body):
        project = self.project(match.group(1), query)
        env = self.find_env(project, match.group(2))
        merged = {**env, **{k: v for k, v in (body or {}).items() if k in
                            ("key", "value", "type", "target", "gitBranch", "comment")}}
        self.validate_env(merged)
        clashes = self.conflicts(project["id"], merged, ignore_id=env["id"])
        if clashes:
            raise self.conflict_error(merged, clashes[0])
        env.update(merged, target=sorted(merged["target"]), updatedAt=self.state.now())
        return 200, public_env(env, False)

    def delete_env(self, match, query, body):
        project = self.project(match.group(1), query)
        env = self.find_env(project, match.group(2))
        self.state.envs[project["id"]].remove(env)
        return 200, public_env(env, False)

    def batch_delete_env(self, match, query, body):
        project = self.project(match.group(1), query)
        ids = (body or {}).get("ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(400, "bad_request", "`ids` must be a non-empty list.")
        envs = [self.find_env(project, env_id) for env_id in ids]
        for env in envs:
            self.state.envs[project["id"]].remove(env)
        return 200, {"deleted": ids, "ids": ids}

    # Deployments

    def list_deployments(self, match, query, body):
        found = [d for d in self.state.deployments
                 if (not query.get("projectId") or d["projectId"] == query["projectId"])
                 and (not query.get("target") or d["target"] == query["target"])
                 and (not query.get("state") or d["state"] in query["state"].split(","))]
        found.sort(key=lambda d: d["created"], reverse=True)
        limit = int(query.get("limit") or 20)
        return 200, {"deployments": [listed_deployment(d) for d in found[:limit]],
                     "pagination": {"count": min(limit, len(found)), "next": None, "prev": None}}

    def create_deployment(self, match, query, body):
        body = body or {}
        source = next((d for d in self.state.deployments if d["uid"] == body.get("deploymentId")), None)
        if source is None:
            raise ApiError(404, "not_found", "Deployment not found")
        project = self.state.projects[source["projectId"]]
        if body.get("name") not in (project["name"], project["id"]):
            raise ApiError(400, "bad_request", "The `name` does not match the deployment's project.")
        meta = body.get("meta") or {}
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ApiError(400, "bad_request", "`meta` must be an object of strings.")
        # A redeploy keeps the source's metadata; the request's own keys are added to it.
        deployment = self.state.create_deployment(project, body.get("target") or "production",
                                                  meta={**source.get("meta", {}), **meta})
        return 200, deployment_view(deployment)

    def get_deployment(self, match, query, body):
        deployment = next((d for d in self.state.deployments if match.group(1) in (d["uid"], d["url"])), None)
        if deployment is None:
            raise not_found("Deployment not found")
        # Each look moves a build one step on: QUEUED -> BUILDING -> the configured outcome.
        steps = {"QUEUED": "BUILDING", "BUILDING": self.state.build_outcome}
        view = deployment_view(deployment)
        deployment["state"] = steps.get(deployment["state"], deployment["state"])
        return 200, view

    def deploy_hook(self, project_id, hook_id):
        if (project_id, hook_id) not in self.state.hooks or project_id not in self.state.projects:
            raise not_found("Deploy Hook not found")
        deployment = self.state.create_deployment(self.state.projects[project_id], "production")
        return {"job": {"id": deployment["uid"], "state": "PENDING", "createdAt": deployment["created"]}}


class Handler(BaseHTTPRequestHandler):
    server_version = "vercel-emulator"
    state: State
    api: Api

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return INVALID_JSON

    def _send(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self._body()
        if url.path.startswith("/_emulator/"):
            with self.state.lock:
                answer = vercel_dns.control(self.state, self.command, url.path, query, body)
                return self._send(*(answer or control(self.state, self.command, url.path, query, body)))
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        with self.state.lock:
            entry = {"method": self.command, "path": url.path, "query": query}
            self.state.requests.append(entry)
            fault = take_fault(self.state, self.command, url.path)
        if fault and fault.get("after"):
            entry["fault"] = "drop" if fault.get("drop") else "delay"
            return self._answer_after(fault, url, query, body, token)
        if fault:
            entry["fault"] = fault.get("status") or "delay"
            time.sleep(fault.get("delay", 0))
            if fault.get("status"):
                headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
                default = "rate_limited" if fault["status"] == 429 else "internal_server_error"
                code = fault.get("code") or default
                error = {"error": {"code": code, "message": "Injected fault"}}
                return self._send(fault["status"], error, headers)
        self._send(*self._apply(url, query, body, token))

    def _apply(self, url, query, body, token):
        try:
            if body is INVALID_JSON:
                raise ApiError(400, "bad_request", "Invalid JSON body.")
            with self.state.lock:
                return self.api.handle(self.command, url.path, query, body, token)
        except ApiError as error:
            return error.status, error.body

    def _answer_after(self, fault, url, query, body, token):
        """Apply the request, then lose its answer: late, or never (connection closed)."""
        status, payload = self._apply(url, query, body, token)
        time.sleep(fault.get("delay", 0))
        if fault.get("drop"):
            self.close_connection = True
            return None
        return self._send(status, payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _dispatch


def take_fault(state, method, path):
    for fault in state.faults:
        matches = path.startswith(fault.get("path", "/")) and fault.get("method", method) == method
        if fault["count"] > 0 and matches:
            fault["count"] -= 1
            return fault
    return None


def control(state, method, path, query, body):  # noqa: PLR0911 (one branch per control endpoint)
    body = body if isinstance(body, dict | list) else {}
    if path == "/_emulator/reset" and method == "POST":
        state.__init__(body.get("tokens", []))
        return 200, {"ok": True}
    if path == "/_emulator/projects" and method == "POST":
        return 201, state.add_project(body["name"], body.get("team_id"), body.get("team_slug"),
                                      body.get("id"), body.get("deployed", True))
    if path == "/_emulator/hooks" and method == "POST":
        state.hooks.add((body["project_id"], body["hook_id"]))
        return 201, {"ok": True}
    if path == "/_emulator/faults" and method == "POST":
        state.faults.extend(body if isinstance(body, list) else [body])
        return 201, {"ok": True}
    if path == "/_emulator/settings" and method == "POST":
        state.page_size = body.get("page_size", state.page_size)
        state.build_outcome = body.get("build_outcome", state.build_outcome)
        return 200, {"ok": True}
    if path == "/_emulator/requests":
        if method == "DELETE":
            state.requests.clear()
        return 200, {"requests": state.requests}
    if path == "/_emulator/envs":
        return 200, {"envs": state.envs.get(query.get("projectId"), [])}
    if path == "/_emulator/deployments":
        return 200, {"deployments": [d for d in state.deployments
                                     if not query.get("projectId") or d["projectId"] == query["projectId"]]}
    return 404, {"error": {"code": "not_found", "message": f"no emulator control {method} {path}"}}


def serve(port=0, tokens=(), nameservers=None):
    """Start the emulator on 127.0.0.1 in a background thread; returns the server. nameservers
    (callable(zone, records)) is told each zone's records after every DNS write, as Vercel's
    nameservers would then answer them (e.g. Pebble.serve_zone, the ACME stand-in's DNS)."""
    state = State(tokens)
    state.nameservers = nameservers
    handler = type("BoundHandler", (Handler,), {"state": state, "api": Api(state)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


LAB_PORT = 8787
LAB_TOKEN = "flowspace-lab-token"  # noqa: S105 - the lab emulator's, named in inventories/lab too
LAB_PROJECT = "flowspace"
LAB_URL = f"http://127.0.0.1:{LAB_PORT}"
PROCESS = {"vercel-emulator": b"labkit\0vercel-emulator\0serve"}


def state_dir() -> Path:
    path = paths.cache_dir() / "vercel-emulator"
    path.mkdir(parents=True, exist_ok=True)
    return path


def answering(url: str = LAB_URL) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_emulator/requests", timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def ensure_running() -> str:
    """The lab's emulator (kept when it already runs: its state is the lab's Vercel project);
    returns its base URL."""
    if daemons.alive(state_dir(), "vercel-emulator", PROCESS["vercel-emulator"]) and answering():
        return LAB_URL
    stop()
    daemons.spawn(state_dir(), "vercel-emulator", [
        sys.executable, "-m", "labkit", "vercel-emulator", "serve", "--port", str(LAB_PORT),
        "--token", LAB_TOKEN, "--project", LAB_PROJECT,
    ], {"PYTHONPATH": str(paths.REPO_ROOT)})
    deadline = time.monotonic() + 15
    while not answering():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Vercel emulator did not answer at {LAB_URL}; see {state_dir()}")
        time.sleep(0.2)
    return LAB_URL


def stop() -> list[str]:
    return daemons.stop(state_dir(), PROCESS)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit vercel-emulator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run in the foreground")
    serve_parser.add_argument("--port", type=int, default=LAB_PORT)
    serve_parser.add_argument("--token", default=LAB_TOKEN)
    serve_parser.add_argument("--project", default=LAB_PROJECT)
    for name, text in (("start", "start the lab's emulator in the background"),
                       ("stop", "stop it"), ("status", "whether it answers")):
        sub.add_parser(name, help=text)
    args = parser.parse_args(argv)
    if args.command == "start":
        print(ensure_running())
    elif args.command == "stop":
        print("stopped: " + (", ".join(stop()) or "nothing was running"))
    elif args.command == "status":
        print("answering" if answering() else "not running")
        return 0 if answering() else 1
    else:
        server = serve(args.port, [args.token])
        project = server.RequestHandlerClass.state.add_project(args.project)
        print(json.dumps({"api_url": f"http://127.0.0.1:{server.server_address[1]}", "token": args.token,
                          "project": project}), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.shutdown()
    return 0

