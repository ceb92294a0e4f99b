import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { lambdaPackage } from "./lambdaPackage.ts";

// The database-roles function's package (components/aws/databaseRoles.ts), unpacked as Lambda
// unpacks it into /var/task and loaded by Node as the runtime loads it: a module it imports and
// the package left out would fail only on AWS, in the middle of a `pulumi up`.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function unpack(archive: pulumi.asset.AssetArchive): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "lambda-"));
  dirs.push(root);
  const assets = (await archive.assets) as Record<string, unknown>;
  for (const [path, asset] of Object.entries(assets)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    if (asset instanceof pulumi.asset.StringAsset) writeFileSync(target, await asset.text);
    else if (asset instanceof pulumi.asset.FileArchive)
      cpSync(await asset.path, target, { recursive: true });
    else throw new Error(`${path}: an asset this test does not unpack`);
  }
  return root;
}

test("the roles function's package holds its modules and pg's, and loads on Node as Lambda loads it", async () => {
  const pack = lambdaPackage("services/shared/sql/rolesLambda.ts", "handler");
  expect(pack.handler).toBe("services/shared/sql/rolesLambda.handler");
  const paths = Object.keys((await pack.code.assets) as Record<string, unknown>).sort();
  expect(paths).toEqual(
    expect.arrayContaining([
      "package.json",
      "services/shared/sql/rolesLambda.js",
      "services/shared/sql/serviceRoles.js",
      "services/shared/awsSecrets.js",
      "services/shared/secretArn.js",
      "node_modules/pg",
      "node_modules/pg-protocol",
    ]),
  );
  // The runtime has the AWS SDK; packing it would only make the function larger.
  expect(paths.filter((p) => p.includes("@aws-sdk"))).toEqual([]);

  const root = await unpack(pack.code);
  // The runtime would give the SDK; here the repository's copy stands in for it (a link: Node
  // resolves the SDK's own dependencies from where it really is).
  symlinkSync(join(process.cwd(), "node_modules/@aws-sdk"), join(root, "node_modules/@aws-sdk"));
  const script = `
    const { handler } = await import(${JSON.stringify(join(root, "services/shared/sql/rolesLambda.js"))});
    const refused = await handler({ services: "orders" }).catch((e) => e.message);
    const noCa = await handler({ services: ["orders"] }).catch((e) => e.message);
    console.log(JSON.stringify({ type: typeof handler, refused, noCa }));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script],
    { cwd: root, env: { PATH: process.env["PATH"] } },
  );
  expect(JSON.parse(stdout)).toEqual({
    type: "function",
    refused: 'the event must be {"services": ["<service>", ...]}',
    noCa: "DATABASE_CA_FILE is not set",
  });
});
