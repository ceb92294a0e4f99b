import { CredentialVault } from "./credentials.ts";
import { MissingValue, holds, references, resolve, type Scope } from "./templates.ts";

const scope: Scope = {
  input: { item: "lamp", count: 2, tags: ["a"] },
  steps: { place: { output: { id: "ord_1", lines: [{ sku: "x" }] } }, skipped: { output: null } },
  run: { id: "wfrun_1" },
};

describe("templates", () => {
  it("keeps a whole template's type and writes an embedded one into the text", () => {
    expect(
      resolve(
        {
          n: "{{ input.count }}",
          tags: "{{input.tags}}",
          text: "order {{ steps.place.output.id }} of {{ input.count }}",
          deep: ["{{ steps.place.output.lines.0.sku }}", 3, null],
        },
        scope,
      ),
    ).toEqual({ n: 2, tags: ["a"], text: "order ord_1 of 2", deep: ["x", 3, null] });
  });

  it("refuses a path that names nothing, rather than sending an empty value", () => {
    expect(() => resolve("{{ steps.place.output.nope }}", scope)).toThrow(MissingValue);
    expect(() => resolve("{{ steps.skipped.output.id }}", scope)).toThrow(MissingValue);
    // Only own properties: a template cannot reach the prototype.
    expect(() => resolve("{{ input.constructor }}", scope)).toThrow(MissingValue);
  });

  it("lists what a value reads, for the definition's checks", () => {
    expect(references({ a: ["{{ input.x }} and {{steps.y.output}}"], b: 1 })).toEqual([
      "input.x",
      "steps.y.output",
    ]);
  });

  it.each([
    [{ value: "{{ input.count }}", op: "gt", than: 1 }, true],
    [{ value: "{{ input.count }}", op: "lte", than: 1 }, false],
    [{ value: "{{ input.item }}", op: "eq", than: "lamp" }, true],
    [{ value: "{{ input.item }}", op: "gt", than: 1 }, false],
    [{ value: "{{ steps.place.output.id }}", op: "exists" }, true],
    [{ value: "{{ steps.place.output.nope }}", op: "missing" }, true],
    [{ value: "{{ steps.place.output.nope }}", op: "eq", than: null }, false],
    [{ value: "{{ steps.place.output.lines }}", op: "ne", than: [] }, true],
  ] as const)("condition %#", (condition, expected) => {
    expect(holds(condition, scope)).toBe(expected);
  });
});

describe("the vault of callers' keys", () => {
  it("opens what it sealed, and nothing sealed under another secret or altered", () => {
    const vault = new CredentialVault("stack-secret-one-0123456789abcdef");
    const sealed = vault.seal("Bearer sk-abc");
    expect(sealed).not.toContain("sk-abc");
    expect(vault.open(sealed)).toBe("Bearer sk-abc");
    expect(vault.seal("Bearer sk-abc")).not.toBe(sealed);
    expect(new CredentialVault("stack-secret-two-0123456789abcdef").open(sealed)).toBeUndefined();
    const [v, iv, tag, data] = sealed.split(".");
    const flipped = `${v}.${iv}.${tag}.${data!.slice(0, -2)}${data!.endsWith("AA") ? "AB" : "AA"}`;
    expect(vault.open(flipped)).toBeUndefined();
    expect(vault.open("garbage")).toBeUndefined();
  });
});
