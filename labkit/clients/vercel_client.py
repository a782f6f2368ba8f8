"""A plain HTTP client for the Vercel emulator: its API as a user would call it, and its
/_emulator/ controls."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict


USE_OWN_TOKEN = object()


class EmulatorError(RuntimeError):
    pass


class EmulatorClient:
    def __init__(self, base_url: str, token: str | None = None):
        self.base_url, self.token = base_url.rstrip("/"), token

    def call(self, method: str, path: str, body=None, token=USE_OWN_TOKEN) -> Answer:
        token = self.token if token is USE_OWN_TOKEN else token
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        url = self.base_url + path  # always the loopback emulator
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback emulator)
                return Answer(response.status, json.loads(response.read() or b"{}"), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"{}"), dict(error.headers))

    def control(self, method: str, what: str, body=None) -> dict:
        answer = self.call(method, f"/_emulator/{what}", body, token=None)
        if answer.status >= 300:
            raise EmulatorError(f"{method} /_emulator/{what}: {answer}")
        return answer.body

    def add_project(self, name: str, **options) -> dict:
        return self.control("POST", "projects", {"name": name, **options})

    def requests(self) -> list[dict]:
        return self.control("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def stored_envs(self, project_id: str) -> list[dict]:
        return self.control("GET", f"envs?projectId={project_id}")["envs"]

    def deployments(self, project_id: str) -> list[dict]:
        return self.control("GET", f"deployments?projectId={project_id}")["deployments"]

    def add_domain(self, name: str, **options) -> dict:
        return self.control("POST", "domains", {"name": name, **options})

    def add_record(self, domain: str, **record) -> dict:
        """A record put in by hand (as in Vercel's dashboard): name, type, value, ttl, ..."""
        return self.control("POST", f"records?domain={domain}", record)

    def records(self, domain: str) -> list[dict]:
        return self.control("GET", f"records?domain={domain}")["records"]

    def deny_dns(self, *tokens: str) -> None:
        """Tokens whose scope leaves out DNS: Vercel answers 403 on its DNS endpoints."""
        self.control("POST", "dns-denied-tokens", {"tokens": list(tokens)})
