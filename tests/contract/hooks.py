"""Schemathesis hooks of the contract run, loaded through SCHEMATHESIS_HOOKS by run.sh.

- Credentials the run cannot destroy: every operation is called with an admin API key
  made for the run, and no call may change, revoke or deactivate a protected id (that
  key, its user, the throwaway user, and the bootstrap admin whose password the client
  scenario uses later).
- The auth operations (login, refresh, logout, password change) act as a throwaway user,
  so a logout or a password change never ends the session the rest of the run relies on.
  Positive cases log in with the throwaway's real password, change it with the real
  current password, and refresh or log out with refresh tokens of real sessions.
- Operations whose body names other records (assignments, merges, personnel) get, on
  every other case, the ids of records the run created; an import sends a small CSV.
  Links cannot carry these: they come from two responses, or are not ids of the path.
- Every response's status is appended to CONTRACT_STATUS_LOG for coverage.py.

Env: CONTRACT_BASE_URL, CONTRACT_API_KEY, CONTRACT_PROTECTED_IDS (comma-separated),
CONTRACT_THROWAWAY_EMAIL, CONTRACT_THROWAWAY_PASSWORD, CONTRACT_STATUS_LOG.
"""

import collections
import itertools
import os
import random
import uuid

import httpx
import schemathesis

AUTH_OPERATIONS = ["login", "refresh_token", "logout", "change_my_password"]
# Assignment operation to the operation that creates what it assigns.
ASSIGNMENTS = {
    "assign_tag": "create_tag",
    "assign_tier": "create_tier",
    "assign_customer_group": "create_customer_group",
}
PROTECTED_IDS = frozenset(filter(None, os.environ["CONTRACT_PROTECTED_IDS"].split(",")))
BASE_URL = os.environ["CONTRACT_BASE_URL"]
STATUS_LOG = os.environ["CONTRACT_STATUS_LOG"]
ORDER_IMPORT_CSV = (
    "customer,customer_last_name,placed_at,sku,product_name,unit_price\n"
    "C-CONTRACT,قراردادی,1403/01/15,SKU-CONTRACT,کالا,1000\n"
).encode()
PRODUCT_IMPORT_CSV = "sku,name_fa,unit_price\nSKU-CONTRACT-P,کالا,1000\n".encode()
IMPORT_CSV = "first_name,last_name,mobile\nNima,Rahimi,09121110001\n".encode()

# Every other case of an operation keeps what was generated, so the failure paths of the
# same shapes are exercised too.
_turns = collections.defaultdict(itertools.count)


def take_turn(operation_id, every=2):
    return next(_turns[operation_id]) % every == 0


def recent(ids, count=1):
    """`count` distinct ids among the newest few, or `None`. Drawing among several keeps
    one record that later calls made unusable (erased, of another kind, already in the
    same merge) from failing every case that follows."""
    window = ids[-10:]
    return random.sample(window, count) if len(window) >= count else None


def operation_id_of(case):
    return case.operation.definition.raw.get("operationId")


class Throwaway:
    """The throwaway user: its current password, one session to act with, and refresh
    tokens of other sessions that refresh and logout cases may use up."""

    email = os.environ["CONTRACT_THROWAWAY_EMAIL"]
    password = os.environ["CONTRACT_THROWAWAY_PASSWORD"]
    access_token = None
    refresh_tokens = []

    @classmethod
    def login(cls):
        response = httpx.post(
            f"{BASE_URL}/api/v1/auth/login",
            json={"email": cls.email, "password": cls.password},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


class Created:
    """Records the run created and has not deleted or merged away, newest last."""

    customers = {"person": [], "organization": []}
    # Creating operation (create_tag, ...) to the ids it answered.
    labels = collections.defaultdict(list)
    # (organization id, personnel id)
    personnel = []
    merges = []
    products = []
    # (order id, its first line id), for returns.
    orders = []
    model_runs = []

    @classmethod
    def forget_customer(cls, customer_id):
        for ids in cls.customers.values():
            if customer_id in ids:
                ids.remove(customer_id)



def _is_string_object(body, *members):
    return (
        isinstance(body, dict)
        and set(body) == set(members)
        and all(isinstance(body[m], str) for m in members)
    )


def _has_string(body, member):
    return isinstance(body, dict) and isinstance(body.get(member), str)


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
def map_case(context, case):
    operation_id = operation_id_of(case)
    body = case.body
    if operation_id == "login" and _is_string_object(body, "email", "password"):
        if take_turn(operation_id):
            case.body = {"email": Throwaway.email, "password": Throwaway.password}
    elif operation_id == "change_my_password" and _is_string_object(
        body, "current_password", "new_password"
    ):
        if take_turn(operation_id):
            case.body = {**body, "current_password": Throwaway.password}
    elif operation_id in ("refresh_token", "logout") and _is_string_object(body, "refresh_token"):
        if Throwaway.refresh_tokens and take_turn(operation_id):
            case.body = {"refresh_token": Throwaway.refresh_tokens.pop()}
    elif operation_id == "create_customer" and isinstance(body, dict):
        # Generated customers rarely pass validation; merges and personnel need some of
        # each kind. One case in four becomes a plain organization, one a plain person.
        turn = next(_turns[operation_id]) % 4
        if turn == 0:
            case.body = {"kind": "organization", "organization_name": f"Org {uuid.uuid4().hex[:8]}"}
        elif turn == 2:
            case.body = {"kind": "person", "last_name": f"Person {uuid.uuid4().hex[:8]}"}
    elif operation_id in ASSIGNMENTS and isinstance(body, dict):
        label = recent(Created.labels[ASSIGNMENTS[operation_id]])
        customer = recent(Created.customers["person"] + Created.customers["organization"])
        if label and customer and take_turn(operation_id):
            case.path_parameters = {"id": label[0]}
            case.body = {"action": body.get("action", "add"), "customer_ids": customer}
    elif operation_id == "merge_customers":
        pair = recent(Created.customers["person"], 2)
        if pair and take_turn(operation_id):
            case.body = {"winner_id": pair[0], "loser_ids": pair[1:]}
            if isinstance(body, dict) and isinstance(body.get("dry_run"), bool):
                case.body["dry_run"] = body["dry_run"]
    elif operation_id in ("create_custom_field", "update_custom_field") and isinstance(body, dict):
        # A required custom field would make every customer generated afterwards invalid.
        if body.get("required") is True:
            case.body = body = {**body, "required": False}
        # The example's key is one that generated customers carry values for, and a field
        # with values cannot be deleted; a fresh key can.
        if _has_string(body, "key") and operation_id == "create_custom_field":
            if take_turn(operation_id):
                case.body = {**body, "key": f"contract_{uuid.uuid4().hex[:12]}"}
    elif operation_id == "add_personnel" and isinstance(body, dict):
        person = recent(Created.customers["person"])
        organization = recent(Created.customers["organization"])
        if person and organization and take_turn(operation_id):
            case.path_parameters = {"id": organization[0]}
            case.body = {**body, "person_id": person[0]}
    elif operation_id in ("update_personnel", "remove_personnel"):
        pair = recent(Created.personnel)
        if pair and take_turn(operation_id):
            organization, personnel = pair[0]
            case.path_parameters = {"id": organization, "personnel_id": personnel}
    elif operation_id == "create_order" and isinstance(body, dict):
        customer = recent(Created.customers["person"] + Created.customers["organization"])
        product = recent(Created.products)
        if customer and product and take_turn(operation_id):
            case.body = {"customer_id": customer[0], "status": random.choice(["pending", "paid"]),
                         "lines": [{"product_id": product[0], "quantity": random.randint(1, 5)}]}
    elif operation_id == "create_order_return" and isinstance(body, dict):
        order = recent(Created.orders)
        if order and take_turn(operation_id):
            case.path_parameters = {"id": order[0][0]}
            case.body = {"lines": [{"order_line_id": order[0][1], "quantity": 1}],
                         "reason": "contract"}
    elif operation_id == "create_model_run" and take_turn(operation_id):
        case.body = {"kind": random.choice(["rfm", "clv"])}
    elif operation_id in ("get_model_run", "cancel_model_run", "rerun_model_run"):
        run = recent(Created.model_runs)
        if run and take_turn(operation_id):
            case.path_parameters = {"id": run[0]}
    elif operation_id in ("get_customer_merge", "undo_customer_merge"):
        merge = recent(Created.merges)
        if merge and take_turn(operation_id):
            case.path_parameters = {"merge_id": merge[0]}
    return case


@schemathesis.hook
def before_call(context, case, kwargs):
    """Nothing but a read may name a protected id: any other call that would (generated,
    taken from a link or inferred from an earlier response) names a fresh id instead and
    gets its 404. Checked right before sending, where every source of values has acted.

    Every other import uploads a small CSV file: a generated file part has no type or
    name the server can read as CSV or XLSX."""
    if case.method.upper() != "GET":
        for name, value in (case.path_parameters or {}).items():
            if str(value) in PROTECTED_IDS:
                case.path_parameters[name] = str(uuid.uuid4())
    operation_id = operation_id_of(case)
    if operation_id == "create_import" and take_turn(operation_id):
        kwargs["files"] = [("file", ("customers.csv", IMPORT_CSV, "text/csv"))]
    elif operation_id == "create_order_import" and take_turn(operation_id):
        kwargs["files"] = [("file", ("orders.csv", ORDER_IMPORT_CSV, "text/csv"))]
    elif operation_id == "create_product_import" and take_turn(operation_id):
        kwargs["files"] = [("file", ("products.csv", PRODUCT_IMPORT_CSV, "text/csv"))]


@schemathesis.hook
def after_call(context, case, response):
    operation_id = operation_id_of(case)
    status = response.status_code
    if operation_id in ("login", "refresh_token") and status == 200:
        Throwaway.refresh_tokens.append(response.json()["refresh_token"])
    elif operation_id == "change_my_password" and status == 204:
        # The password changed; the session that changed it stays valid.
        Throwaway.password = case.body["new_password"]
    elif operation_id in AUTH_OPERATIONS and status == 401 and case.headers:
        # Should the acting session have ended after all, the next case logs in anew.
        Throwaway.access_token = None
    elif operation_id == "create_customer" and status == 201:
        customer = response.json()
        Created.customers.setdefault(customer["kind"], []).append(customer["id"])
    elif operation_id in ASSIGNMENTS.values() and status == 201:
        Created.labels[operation_id].append(response.json()["id"])
    elif operation_id == "add_personnel" and status == 201:
        personnel = response.json()
        Created.personnel.append((personnel["organization_id"], personnel["id"]))
    elif operation_id == "remove_personnel" and status == 204:
        pair = (case.path_parameters["id"], case.path_parameters["personnel_id"])
        if pair in Created.personnel:
            Created.personnel.remove(pair)
    elif operation_id == "create_product" and status == 201:
        Created.products.append(response.json()["id"])
    elif operation_id == "create_order" and status == 201:
        order = response.json()
        Created.orders.append((order["id"], order["lines"][0]["id"]))
    elif operation_id in ("create_model_run", "rerun_model_run") and status == 202:
        Created.model_runs.append(response.json()["id"])
    elif operation_id == "merge_customers" and status == 201:
        Created.merges.append(response.json()["merge"]["id"])
        for loser in case.body["loser_ids"]:
            Created.forget_customer(loser)
    elif operation_id in ("delete_customer", "erase_customer") and status in (200, 204):
        Created.forget_customer(case.path_parameters["id"])
    with open(STATUS_LOG, "a", encoding="utf-8") as log:
        log.write(f"{operation_id}\t{status}\n")
