"""Options shared by the collection's Vercel modules: the connection, and the project with its token."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  team_id:
    description: Team scope (C(teamId)).
    type: str
  team_slug:
    description: Team scope by slug (C(slug)).
    type: str
  api_url:
    description: Base URL of the API.
    type: str
    default: https://api.vercel.com
  timeout:
    description: Seconds per request.
    type: int
    default: 30
  retries:
    description: Retries of a request that got 429, 5xx or no answer.
    type: int
    default: 4
"""

    # The project a module reads or writes, and the token that may (vercel.project).
    PROJECT = r"""
options:
  project:
    description: The project's id or name.
    type: str
    required: true
  token:
    description: Vercel API token (Bearer).
    type: str
    required: true
"""
