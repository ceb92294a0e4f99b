import { parseStackFile } from "./stackFile.ts";

test("reads a flat config map, quoted or not, with comments", () => {
  const text =
    '# dev\nconfig:\n  aws:region: us-east-1 # here\n  platform:deletionProtection: "false"\n  platform:routerPort: 9090\n';
  expect(parseStackFile(text).config).toEqual({
    "aws:region": "us-east-1",
    "platform:deletionProtection": "false",
    "platform:routerPort": "9090",
  });
});

test("takes what `pulumi stack init` and `config set --secret` write: a salt and secure values", () => {
  const text =
    "encryptionsalt: v1:abc=\nconfig:\n  platform:target: docker\n  platform:postgresPassword:\n    secure: v1:xyz\n";
  const { config, secrets } = parseStackFile(text);
  expect(config).toEqual({ "platform:target": "docker" });
  expect(Object.keys(secrets)).toEqual(["platform:postgresPassword"]);
  expect(secrets["platform:postgresPassword"]).not.toContain("v1:xyz");
});

test("rejects what it does not understand, naming the file", () => {
  expect(() => parseStackFile("config:\n  platform:list: [a, b]\n", "P.yaml")).toThrow(
    "P.yaml: platform:list: only scalar values",
  );
  expect(() => parseStackFile("runtime: nodejs\n", "P.yaml")).toThrow(
    'P.yaml: unknown top-level key "runtime"',
  );
  expect(() => parseStackFile("config:\n  region: x\n")).toThrow("not a namespace:key");
});
