import { KEY_FORMAT as gatewayKeyFormat } from "../../../services/gateway/auth.ts";
import { PROCESSED_HEADER as platformProcessedHeader } from "../../../services/shared/errors.ts";
import { checkKeyFormat, KEY_FORMAT } from "../src/apiTasks.ts";
import { PROCESSED_HEADER } from "../src/retry.ts";

// The rules the client keeps a copy of, since it may import nothing of the platform: each is
// held here to the platform's own, so that a change on one side fails until the other follows.

describe("the client's copy of the platform's rules", () => {
  it("checks an API key's form as the gateways do", () => {
    expect(KEY_FORMAT.source).toBe(gatewayKeyFormat.source);
    expect(KEY_FORMAT.flags).toBe(gatewayKeyFormat.flags);
  });

  it("reads the platform's mark on a request nothing acted on", () => {
    expect(PROCESSED_HEADER).toBe(platformProcessedHeader);
  });

  it("refuses, before sending, a key the gateways would refuse", () => {
    for (const key of ["sk-short", "pk-" + "a".repeat(30), `sk-${"a".repeat(30)} `]) {
      expect(gatewayKeyFormat.test(key)).toBe(false);
      expect(() => checkKeyFormat(key)).toThrow();
    }
    expect(() => checkKeyFormat(`sk-${"a".repeat(30)}`)).not.toThrow();
  });
});
