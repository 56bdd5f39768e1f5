"""Schemathesis hooks of the contract run, loaded through SCHEMATHESIS_HOOKS by run.sh.

- Credentials the run cannot destroy: every operation is called with an admin API key
  made for the run, and no call may change, revoke or deactivate a protected id (that
  key, its user, the throwaway user, and the bootstrap admin whose password the client
  scenario uses later).
- The auth operations (login, refresh, logout, password change) act as a throwaway user,
  so a logout or a password change never ends the session the rest of the run relies on.
  Positive cases log in with the throwaway's real password, change it with the real
  current password, and refresh or log out with refresh tokens of real sessions.
- Every response's status is appended to CONTRACT_STATUS_LOG for coverage.py.

Env: CONTRACT_BASE_URL, CONTRACT_API_KEY, CONTRACT_PROTECTED_IDS (comma-separated),
CONTRACT_THROWAWAY_EMAIL, CONTRACT_THROWAWAY_PASSWORD, CONTRACT_STATUS_LOG.
"""

import itertools
import os
import uuid

import httpx
import schemathesis

AUTH_OPERATIONS = ["login", "refresh_token", "logout", "change_my_password"]
PROTECTED_IDS = frozenset(filter(None, os.environ["CONTRACT_PROTECTED_IDS"].split(",")))
BASE_URL = os.environ["CONTRACT_BASE_URL"]
STATUS_LOG = os.environ["CONTRACT_STATUS_LOG"]


class Throwaway:
    """The throwaway user: its current password, one session to act with, and refresh
    tokens of other sessions that refresh and logout cases may use up."""

    email = os.environ["CONTRACT_THROWAWAY_EMAIL"]
    password = os.environ["CONTRACT_THROWAWAY_PASSWORD"]
    access_token = None
    refresh_tokens = []
    # Every other positive case keeps what was generated, so the failure paths of the
    # same shapes are exercised too.
    turns = itertools.count()

    @classmethod
    def take_turn(cls):
        return next(cls.turns) % 2 == 0

    @classmethod
    def login(cls):
        response = httpx.post(
            f"{BASE_URL}/api/v1/auth/login",
            json={"email": cls.email, "password": cls.password},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def _is_string_object(body, *members):
    return isinstance(body, dict) and set(body) == set(members) and all(
        isinstance(body[m], str) for m in members
    )


@schemathesis.auth(refresh_interval=None).apply_to(operation_id=AUTH_OPERATIONS)
class ThrowawaySession:
    def get(self, case, context):
        if Throwaway.access_token is None:
            Throwaway.access_token = Throwaway.login()["access_token"]
        return Throwaway.access_token

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=None).skip_for(operation_id=AUTH_OPERATIONS)
class RunApiKey:
    def get(self, case, context):
        return os.environ["CONTRACT_API_KEY"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(context, case, kwargs):
    """Nothing but a read may name a protected id: any other call that would (generated,
    taken from a link or inferred from an earlier response) names a fresh id instead and
    gets its 404. Checked right before sending, where every source of values has acted."""
    if case.method.upper() == "GET" or not case.path_parameters:
        return
    for name, value in case.path_parameters.items():
        if str(value) in PROTECTED_IDS:
            case.path_parameters[name] = str(uuid.uuid4())


@schemathesis.hook
def map_case(context, case):
    operation_id = case.operation.definition.raw.get("operationId")
    body = case.body
    if operation_id == "login" and _is_string_object(body, "email", "password"):
        if Throwaway.take_turn():
            case.body = {"email": Throwaway.email, "password": Throwaway.password}
    elif operation_id == "change_my_password" and _is_string_object(
        body, "current_password", "new_password"
    ):
        if Throwaway.take_turn():
            case.body = {**body, "current_password": Throwaway.password}
    elif operation_id in ("refresh_token", "logout") and _is_string_object(body, "refresh_token"):
        if Throwaway.refresh_tokens and Throwaway.take_turn():
            case.body = {"refresh_token": Throwaway.refresh_tokens.pop()}
    return case


@schemathesis.hook
def after_call(context, case, response):
    operation_id = case.operation.definition.raw.get("operationId")
    status = response.status_code
    if operation_id in ("login", "refresh_token") and status == 200:
        Throwaway.refresh_tokens.append(response.json()["refresh_token"])
    elif operation_id == "change_my_password" and status == 204:
        # The password changed; the session that changed it stays valid.
        Throwaway.password = case.body["new_password"]
    elif operation_id in AUTH_OPERATIONS and status == 401 and case.headers:
        # Should the acting session have ended after all, the next case logs in anew.
        Throwaway.access_token = None
    with open(STATUS_LOG, "a", encoding="utf-8") as log:
        log.write(f"{operation_id}\t{status}\n")
