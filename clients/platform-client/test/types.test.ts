import type { Session } from "../src/client.ts";
import type { components } from "../src/openapi.ts";

// The answers are typed from the OpenAPI document, as the requests are: `npm run typecheck`
// (the first step of `npm test`) fails on these lines if a call's answer loses its type. Jest
// only checks that the module loads; the assertions are the compiler's.

type Video = components["schemas"]["Video"];

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
  // @ts-expect-error an order has no `price`: a typo in a field is caught before it runs
  void order.price;
  return { quantity, more, sha256, status, left, plan };
}

it("types the answers of the published operations (checked by the compiler)", () => {
  expect(typeof readsTypedAnswers).toBe("function");
});
