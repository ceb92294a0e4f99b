import type { Session } from "../src/client.ts";
import type { components } from "../src/openapi.ts";

// The answers are typed from the OpenAPI document, as the requests are: `npm run typecheck`
// (the first step of `npm test`) fails on these lines if a call's answer loses its type. Jest
// only checks that the module loads; the assertions are the compiler's.

type Video = components["schemas"]["Video"];
type Run = components["schemas"]["WorkflowRun"];

/** Never called: what it reads must type-check. */
export async function readsTypedAnswers(s: Session) {
  const order = await s.call("post", "/v1/orders", { body: { item: "pen", quantity: 1 } });
  const quantity: number = order.quantity;
  const orders = await s.call("get", "/v1/orders", { query: { limit: 5 } });
  const more: boolean = orders.has_more;
  const files = await s.call("get", "/v1/files", {});
  const sha256: string | undefined = files.data[0]?.sha256;
  const video = await s.call("get", "/v1/videos/{id}", { params: { id: "vid_x" } });
  const status: Video["status"] = video.status;
  const quota = await s.call("get", "/v1/quota", {});
  const left: number = quota.tokens.remaining;
  const me = await s.call("get", "/v1/auth/whoami", {});
  const plan: string = me.principal.plan;
  const article = await s.call("get", "/v1/articles/{id}", { params: { id: "art_x" } });
  const version: number = article.version;
  const user = await s.call("get", "/v1/users/me", {});
  const email: string = user.email;
  const plans = await s.call("get", "/v1/users/plans", {});
  const perDay: number | undefined = plans.data[0]?.requestsPerDay;
  const bill = await s.call("get", "/v1/billing/usage", {});
  const cost: string = bill.total.cost;
  const prices = await s.call("get", "/v1/billing/prices", {});
  const output: number = prices.default.output;
  const requests = await s.call("get", "/v1/analytics/requests", {});
  const p95: number | null = requests.latencyMs.p95;
  const poison = await s.call("get", "/v1/analytics/poison", {});
  const reason: string | undefined = poison.data[0]?.reason;
  const job = await s.call("get", "/v1/training/jobs/{id}", { params: { id: "trjob_x" } });
  const model: string | null = job.model;
  const run = await s.call("get", "/v1/workflow-runs/{id}", { params: { id: "wfrun_x" } });
  const runStatus: Run["status"] = run.status;
  const schedules = await s.call("get", "/v1/schedules", {});
  const fired: number | undefined = schedules.data[0]?.fired;
  const overview = await s.call("get", "/v1/monitoring", {});
  const ready: number = overview.totals.ready;
  const models = await s.call("get", "/v1/models", {});
  const modelId: string | undefined = models.data[0]?.id;
  const chat = await s.call("post", "/v1/chat/completions", {
    body: { model: "ngram-3", messages: [{ role: "user", content: "hi" }] },
  });
  const reply: string | null | undefined = chat.choices[0]?.message.content;
  // @ts-expect-error an order has no `price`: a typo in a field is caught before it runs
  void order.price;
  // @ts-expect-error nor has an article an `author`
  void article.author;
  return {
    quantity,
    more,
    sha256,
    status,
    left,
    plan,
    version,
    email,
    perDay,
    cost,
    output,
    p95,
    reason,
    model,
    runStatus,
    fired,
    ready,
    modelId,
    reply,
  };
}

it("types the answers of the published operations (checked by the compiler)", () => {
  expect(typeof readsTypedAnswers).toBe("function");
});
