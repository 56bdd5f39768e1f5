"""A real scenario through the Python client generated from openapi/v1.json.

Env: CLIENT_PACKAGE (import name of the generated package), PEYVAND_BASE_URL,
PEYVAND_ADMIN_EMAIL, PEYVAND_ADMIN_PASSWORD.
"""

import importlib
import os
import sys
import time
import typing
import uuid

PACKAGE = os.environ["CLIENT_PACKAGE"]
BASE_URL = os.environ["PEYVAND_BASE_URL"]
client_module = importlib.import_module(f"{PACKAGE}.client")


def call(tag, operation, client, expected, body=None, **kwargs):
    """Calls a generated operation, building its body model from a dict, and checks the
    status; returns the parsed response."""
    module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
    if body is not None:
        body_type = typing.get_type_hints(module.sync_detailed)["body"]
        if typing.get_origin(body_type) is typing.Union:
            body_type = next(t for t in typing.get_args(body_type) if hasattr(t, "from_dict"))
        kwargs["body"] = body_type.from_dict(body)
    response = module.sync_detailed(client=client, **kwargs)
    status = int(response.status_code)
    if status != expected:
        sys.exit(f"{operation}: expected {expected}, got {status}: {response.content[:500]!r}")
    return response.parsed


anonymous = client_module.Client(base_url=BASE_URL, raise_on_unexpected_status=True)
health = call("operations", "get_health", anonymous, 200)
assert health.status == "ok"

tokens = call(
    "auth",
    "login",
    anonymous,
    200,
    body={"email": os.environ["PEYVAND_ADMIN_EMAIL"], "password": os.environ["PEYVAND_ADMIN_PASSWORD"]},
)
admin = client_module.AuthenticatedClient(base_url=BASE_URL, token=tokens.access_token)

me = call("users", "get_me", admin, 200)
assert me.email == os.environ["PEYVAND_ADMIN_EMAIL"]

suffix = uuid.uuid4().hex[:8]
team = call("teams", "create_team", admin, 201, body={"name": f"Sales {suffix}", "description": "فروش"})
user = call(
    "users",
    "create_user",
    admin,
    201,
    body={
        "email": f"sara.{suffix}@example.com",
        "display_name": "سارا کریمی",
        "password": "amber-quokka-violin-1405",
        "role": "sales",
        "team_id": str(team.id),
    },
)
fetched = call("users", "get_user", admin, 200, id=user.id)
assert fetched.display_name == "سارا کریمی"
assert str(fetched.team_id) == str(team.id)

page = call("users", "list_users", admin, 200, limit=1)
assert len(page.data) == 1 and page.has_more

key = call("api_keys", "create_api_key", admin, 201, body={"name": f"sdk {suffix}", "scopes": ["users:read"]})
with_key = client_module.Client(base_url=BASE_URL, headers={"X-Api-Key": key.key})
assert call("users", "get_user", with_key, 200, id=user.id).email == user.email

job = call("audit", "verify_audit_chain", admin, 202)
for _ in range(100):
    job = call("jobs", "get_job", admin, 200, id=job.id)
    if str(job.status) in ("succeeded", "JobStatus.SUCCEEDED") or getattr(job.status, "value", None) == "succeeded":
        break
    time.sleep(0.1)
else:
    sys.exit(f"audit verification job did not finish: {job}")

events = call("audit", "list_audit_events", admin, 200, resource_type="user")
assert any(str(event.resource_id) == str(user.id) for event in events.data)
tag = call("tags", "create_tag", admin, 201, body={"name": f"VIP {suffix}"})
customer = call(
    "customers",
    "create_customer",
    admin,
    201,
    body={
        "kind": "person",
        "first_name": "علی",
        "last_name": f"کریمی {suffix}",
        "phones": [{"number": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}],
        "national_code": "0076229645",
        "tag_ids": [str(tag.id)],
    },
    peyvand_confirm_duplicate="true",
)
assert customer.phones[0].number == "+989121234567"
found = call("customers", "search_customers", admin, 200, body={"q": f"كريمي {suffix}"})
assert [str(c.id) for c in found.data] == [str(customer.id)]
overview = call("customers", "get_customer_overview", admin, 200, id=customer.id)
assert [t.name for t in overview.tags] == [f"VIP {suffix}"]
assert overview.orders == []
batch = call(
    "customers",
    "create_customers_batch",
    admin,
    200,
    body={"items": [
        {"kind": "organization", "organization_name": f"پیوند {suffix}"},
        {"kind": "person", "last_name": "Bad", "national_code": "1234567890"},
    ]},
)
assert [item.status for item in batch.results] == [201, 422]
assert batch.results[0].customer.organization_name == f"پیوند {suffix}"
assert batch.results[1].problem.errors[0].field == "national_code"
print("sdk scenario: ok")
