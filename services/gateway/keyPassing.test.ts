import type { Request, Response } from "express";
import { catalog, serviceWithRole } from "../../platform/catalog/index.ts";
import { upstreamCall } from "./forward.ts";

// The caller's API key stops at the gateway: no service ever reads it, but the api-bridge, which
// presents it to the tier of each tool's route (services/api/bridge.ts).

function callTo(service: string) {
  const req = {
    method: "POST",
    headers: {
      authorization: "Bearer sk-caller-key-0123456789abcdef",
      "x-principal-user": "made-up",
      "content-type": "application/json",
    },
    socket: { remoteAddress: "10.0.0.5" },
  } as unknown as Request;
  const res = {
    locals: {
      target: { spec: catalog.services[service]! },
      ctx: { requestId: "r1", traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01` },
      principal: { userId: "user_1", keyId: "key_1", plan: "free" },
      url: { url: "/v1/x" },
      body: Buffer.from("{}"),
    },
  } as unknown as Response;
  return upstreamCall(req, res).headers;
}

test("a service gets the verified principal, never the key or a caller's principal", () => {
  const headers = callTo("orders");
  expect(headers["authorization"]).toBeUndefined();
  expect(headers["x-principal-user"]).toBe("user_1");
});

test("the api-bridge gets the caller's key as well", () => {
  const bridge = serviceWithRole(catalog, "api-bridge")!.name;
  const headers = callTo(bridge);
  expect(headers["authorization"]).toBe("Bearer sk-caller-key-0123456789abcdef");
  expect(headers["x-principal-user"]).toBe("user_1");
});
