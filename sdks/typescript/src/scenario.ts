// A real scenario through the TypeScript client generated from openapi/v1.json
// (openapi-typescript types, openapi-fetch requests): a webhook subscription, then a
// customer, a product, an order, a deal and a ticket, each read back through the types,
// the subscription's deliveries of the events they published, and a refused input
// read as a typed problem.
//
// Env: PEYVAND_BASE_URL, PEYVAND_ADMIN_EMAIL, PEYVAND_ADMIN_PASSWORD.

import { randomUUID } from "node:crypto";
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

/** The data of a call that must have succeeded; the problem otherwise. */
function ok<T>(operation: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(
      `${operation}: ${result.response.status} ${JSON.stringify(result.error)}`,
    );
  }
  return result.data;
}

const baseUrl = env("PEYVAND_BASE_URL");
const anonymous = createClient<paths>({ baseUrl });

const health = ok("get_health", await anonymous.GET("/api/v1/health"));
check(health.status === "ok", `health: ${JSON.stringify(health)}`);

const tokens = ok(
  "login",
  await anonymous.POST("/api/v1/auth/login", {
    body: { email: env("PEYVAND_ADMIN_EMAIL"), password: env("PEYVAND_ADMIN_PASSWORD") },
  }),
);
const bearer: Middleware = {
  onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${tokens.access_token}`);
    return request;
  },
};
const api = createClient<paths>({ baseUrl });
api.use(bearer);

const suffix = randomUUID().slice(0, 8);

// Subscribed first, so that every record below publishes an event to it. The target's
// name is never resolved here: deliveries are stored with the change and sent later.
const subscription = ok(
  "create_webhook_subscription",
  await api.POST("/api/v1/webhook-subscriptions", {
    body: {
      url: `https://hooks.example.com/peyvand/${suffix}`,
      event_types: ["customer.created", "order.placed", "deal.created", "ticket.created"],
      description: "TypeScript scenario",
    },
  }),
);
check(subscription.secret.startsWith("whsec_"), "a Standard Webhooks secret is shown once");

const customer = ok(
  "create_customer",
  await api.POST("/api/v1/customers", {
    body: {
      kind: "person",
      first_name: "مریم",
      last_name: `احمدی ${suffix}`,
      phones: [{ number: "۰۹۳۵ ۱۱۱ ۲۲۳۳" }],
      emails: [{ address: `maryam.${suffix}@example.ir` }],
    },
    params: { header: { "Peyvand-Confirm-Duplicate": "true" } },
  }),
);
check(customer.phones?.[0]?.number === "+989351112233", `phone: ${JSON.stringify(customer.phones)}`);

const product = ok(
  "create_product",
  await api.POST("/api/v1/products", {
    body: { sku: `TS-${suffix}`, name: "چای سبز", name_en: "Green tea", unit_price: 1_200_000, unit_cost: 700_000 },
  }),
);

const order = ok(
  "create_order",
  await api.POST("/api/v1/orders", {
    body: {
      customer_id: customer.id,
      status: "paid",
      lines: [{ product_id: product.id, quantity: 3, discount: 100_000 }],
    },
  }),
);
check(order.subtotal === 3_600_000 && order.total === 3_500_000, `order totals: ${JSON.stringify(order)}`);

const deal = ok(
  "create_deal",
  await api.POST("/api/v1/deals", {
    body: { title: `قرارداد سالانه ${suffix}`, customer_id: customer.id, amount: 90_000_000 },
  }),
);
check(deal.customer_id === customer.id && deal.status === "open", `deal: ${JSON.stringify(deal)}`);

const ticket = ok(
  "create_ticket",
  await api.POST("/api/v1/tickets", {
    body: { subject: "تأخیر در ارسال", customer_id: customer.id, priority: "high" },
  }),
);
check(ticket.status === "new" && ticket.number > 0, `ticket: ${JSON.stringify(ticket)}`);

const fetched = ok(
  "get_ticket",
  await api.GET("/api/v1/tickets/{id}", { params: { path: { id: ticket.id } } }),
);
check(fetched.customer_id === customer.id, "the ticket reads back");

// Every record above published one event the subscription wants.
const deliveries = ok(
  "list_webhook_deliveries",
  await api.GET("/api/v1/webhook-subscriptions/{id}/deliveries", {
    params: { path: { id: subscription.id }, query: { limit: 50 } },
  }),
);
const delivered = deliveries.data.map((delivery) => delivery.event_type).sort();
check(
  JSON.stringify(delivered) ===
    JSON.stringify(["customer.created", "deal.created", "order.placed", "ticket.created"]),
  `deliveries: ${JSON.stringify(delivered)}`,
);

// A refused input is a typed problem naming the field and the rule.
const refused = await api.POST("/api/v1/orders", {
  body: { customer_id: customer.id, lines: [{ product_id: product.id, quantity: 0 }] },
});
check(refused.response.status === 422, `refused order: ${refused.response.status}`);
const problem = refused.error as Problem | undefined;
check(
  problem?.errors?.some((error) => error.field === "lines[0].quantity") === true,
  `problem: ${JSON.stringify(problem)}`,
);

// The subscription goes, with the deliveries it still had to send.
const removed = await api.DELETE("/api/v1/webhook-subscriptions/{id}", {
  params: { path: { id: subscription.id } },
});
check(removed.response.status === 204, `delete subscription: ${removed.response.status}`);

console.log("typescript sdk scenario: ok");
