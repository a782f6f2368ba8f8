"""A small Vercel REST API client for the collection's modules.

HTTP goes through ansible's module_utils.urls (proxies, CA bundles and user agent as every
ansible module has them). Rate limits (429, honouring Retry-After) are retried a bounded number
of times for every request: Vercel refused it, nothing was applied. Server errors (5xx) and lost
answers (timeouts, dropped connections) are retried only for requests that are safe to repeat
(reads and edits); for a create or a delete they raise AmbiguousWrite, because Vercel may have
applied it, and the caller re-reads before deciding anything. Every other error is raised as
VercelError with Vercel's own code, message and details.
"""

import json
import time

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import fetch_url

DEFAULT_API_URL = "https://api.vercel.com"
MAX_RETRY_AFTER = 60


class VercelError(Exception):
    def __init__(self, status, code, message, method="", path="", *, details=None):
        where = f"{method} {path}".strip()
        super().__init__((f"{where}: " if where else "") + f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.method, self.path = method, path
        self.details = details or {}  # the rest of Vercel's error object (e.g. a batch's `failed`)


class AmbiguousWrite(VercelError):
    """A write whose outcome is unknown: Vercel may or may not have applied it."""


# Methods whose repetition cannot do more than the first request did.
SAFE_TO_REPEAT = ("GET", "PATCH", "HEAD")


def api_argument_spec():
    """Connection options shared by the modules."""
    return dict(
        token=dict(type="str", required=True, no_log=True),
        team_id=dict(type="str"),
        team_slug=dict(type="str"),
        api_url=dict(type="str", default=DEFAULT_API_URL),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=4),
    )


def deployment_id(deployment):
    """A deployment's id: lists name it `uid`, single reads and creates `id`."""
    return deployment.get("id") or deployment.get("uid")


def deployment_state(deployment):
    """A deployment's state: `readyState` in single reads, `state` (and often both) in lists."""
    return deployment.get("readyState") or deployment.get("state")


def explain(error, project, client=None):
    """What a user should read for an API error: the token, the project or the URL."""
    if error.status == 403:
        return f"Vercel refused the token (403 {error.code}): check token and team scope. {error}"
    if error.status == 404 and "/env/" not in (error.path or "") and error.method == "GET":
        vercel_said_project = error.code == "not_found" and "project" in (error.message or "").lower()
        if vercel_said_project or (client is not None and client.api_answers()):
            return (f"Vercel has no project {project!r} in this scope (404): check project and "
                    f"team_id/team_slug. {error}")
        return (f"{error.path} is not a Vercel API endpoint at this api_url (404 {error.code}): "
                f"check api_url (Vercel's is {DEFAULT_API_URL}). {error}")
    return f"Vercel API error: {error}"


class VercelClient:
    def __init__(self, module, sleep=None):
        params = module.params
        self.module = module
        self.base = params["api_url"].rstrip("/")
        self.token = params["token"]
        scope = (("teamId", params.get("team_id")), ("slug", params.get("team_slug")))
        self.scope = {name: value for name, value in scope if value}
        self.timeout = params["timeout"]
        self.retries = params["retries"]
        self.sleep = sleep or time.sleep
        self.requests = []  # (method, path) of every request sent, for the module's result

    def request(self, method, path, query=None, body=None, *, auth=True, scoped=True):
        params = dict(self.scope) if scoped else {}
        params.update({k: v for k, v in (query or {}).items() if v is not None})
        url = self.base + path + ("?" + urlencode(params) if params else "")
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer " + self.token
        data = json.dumps(body) if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            self.requests.append((method, path))
            response, info = fetch_url(self.module, url, data=data, headers=headers, method=method,
                                       timeout=self.timeout)
            status = info.get("status", -1)
            if 200 <= status < 300:
                raw = response.read() if response else b""
                return json.loads(raw) if raw else {}
            lost = status == -1 or status >= 500
            if lost and method not in SAFE_TO_REPEAT:
                error = self._error(status, info, method, path, attempt)
                raise AmbiguousWrite(error.status, error.code, error.message, method, path,
                                     details=error.details)
            if not (status == 429 or lost) or attempt > self.retries:
                raise self._error(status, info, method, path, attempt)
            self.sleep(self._delay(status, info, attempt))

    @staticmethod
    def _delay(status, info, attempt):
        if status == 429:
            try:
                return min(float(info.get("retry-after") or 1), MAX_RETRY_AFTER)
            except ValueError:
                return 1.0
        return min(2 ** (attempt - 1) * 0.5, 8)

    @staticmethod
    def _error(status, info, method, path, attempt):
        if status == -1:
            reason = f"{info.get('msg', 'no answer')} after {attempt} attempt(s)"
            return VercelError(status, "unreachable", reason, method, path)
        try:
            answer = json.loads(info.get("body") or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        code = error.get("code", "http_error")
        message = error.get("message", info.get("msg", ""))
        if status in (429,) or status >= 500:
            message += f" (gave up after {attempt} attempt(s))"
        # The rest of the error object, and what Vercel puts beside it (a refused batch's
        # per-item `failed` list comes next to `error`, not inside it).
        details = {k: v for k, v in answer.items() if k != "error"}
        details.update({k: v for k, v in error.items() if k not in ("code", "message")})
        return VercelError(status, code, message, method, path, details=details)

    # Projects and environment variables

    def project(self, id_or_name):
        return self.request("GET", f"/v9/projects/{quote(id_or_name, safe='')}")

    def list_env(self, project_id):
        """Every environment variable of the project, following pagination; values decrypted
        except for sensitive variables (which Vercel never returns)."""
        envs, until = [], None
        while True:
            page = self.request("GET", f"/v10/projects/{project_id}/env", {"decrypt": "true", "until": until})
            envs.extend(page.get("envs", []))
            until = (page.get("pagination") or {}).get("next")
            if not until:
                return envs

    def create_env(self, project_id, items, upsert=False):
        return self.request("POST", f"/v10/projects/{project_id}/env",
                            {"upsert": "true" if upsert else None}, items)

    def edit_env(self, project_id, env_id, changes):
        return self.request("PATCH", f"/v9/projects/{project_id}/env/{env_id}", body=changes)

    def delete_envs(self, project_id, env_ids):
        return self.request("DELETE", f"/v1/projects/{project_id}/env", body={"ids": list(env_ids)})

    # Deployments

    def latest_deployment(self, project_id, target="production"):
        page = self.request("GET", "/v6/deployments",
                            {"projectId": project_id, "target": target, "state": "READY", "limit": 1})
        deployments = page.get("deployments", [])
        return deployments[0] if deployments else None

    def recent_deployments(self, project_id, target="production", limit=20):
        """The newest deployments of a target in any state, newest first."""
        page = self.request("GET", "/v6/deployments",
                            {"projectId": project_id, "target": target, "limit": limit})
        return page.get("deployments", [])

    def redeploy(self, deployment, name, target="production", meta=None):
        body = {"deploymentId": deployment_id(deployment), "name": name, "target": target}
        if meta:
            body["meta"] = meta
        return self.request("POST", "/v13/deployments", {"forceNew": "1"}, body)

    def deployment(self, deployment_id):
        return self.request("GET", f"/v13/deployments/{deployment_id}")

    def api_answers(self):
        """Whether api_url is a Vercel API at all: the token's own user is an endpoint every
        token may read (200), or is refused with Vercel's error (403); only a wrong URL says 404."""
        try:
            self.request("GET", "/v2/user", scoped=False)
        except VercelError as error:
            return error.status not in (404, -1)
        return True

    def call_deploy_hook(self, hook_url):
        """Deploy hooks carry their own secret in the URL and take no token."""
        base, _marker, path = hook_url.partition("/v1/integrations/deploy/")
        if not path:
            raise VercelError(0, "bad_hook_url", "a deploy hook URL contains /v1/integrations/deploy/")
        saved, self.base = self.base, base.rstrip("/")
        try:
            return self.request("POST", "/v1/integrations/deploy/" + path, auth=False, scoped=False)
        finally:
            self.base = saved
