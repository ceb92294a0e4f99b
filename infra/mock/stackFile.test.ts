import { parseStackFile } from "./stackFile.ts";

test("reads a flat config map, quoted or not, with comments", () => {
  const text =
    '# dev\nconfig:\n  aws:region: us-east-1 # here\n  platform:deletionProtection: "false"\n\n';
  expect(parseStackFile(text)).toEqual({
    "aws:region": "us-east-1",
    "platform:deletionProtection": "false",
  });
});

test("rejects what it does not understand, with the line", () => {
  expect(() =>
    parseStackFile("config:\n  platform:redisAuthToken:\n    secure: v1:abc\n", "P.yaml"),
  ).toThrow("P.yaml:2: platform:redisAuthToken has no value");
  expect(() => parseStackFile("config:\n  platform:list: [a, b]\n")).toThrow(
    "only plain scalar values",
  );
  expect(() => parseStackFile("runtime: nodejs\n")).toThrow(":1: expected `config:`");
});
