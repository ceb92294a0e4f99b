import { catalog, domains, serviceWithRole, services } from "../platform/catalog/index.ts";
import { runProgram, type RunResult } from "../test/plan/harness.ts";
import { workloadName } from "../platform/names.ts";

/** The service of role `monitoring` in the default catalog. */
const MONITORING_SERVICE = serviceWithRole(catalog, "monitoring")!.name;

// On AWS, monitoring finds every task through Cloud Map's per-task A records and may reach each
// tier's and service's tasks on the container port: one ingress rule per target security group.

const RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

test("monitoring's security group is let into every tier and every service version", () => {
  const source = workloadName.service(MONITORING_SERVICE, "v1");
  const rules = run.records
    .byType(RULE)
    .filter((r) => String(r.inputs["description"]).startsWith(`${source} scrapes `));
  const targets = rules.map((r) =>
    String(r.inputs["description"]).slice(`${source} scrapes `.length),
  );
  const expected = [
    ...domains(catalog).map((d) => `gw-${d.name}`),
    ...services(catalog).flatMap((s) =>
      s.versions.map((v) => workloadName.service(s.name, v.name)),
    ),
  ];
  expect(targets.sort()).toEqual(expected.sort());
  for (const r of rules) {
    expect(r.inputs).toMatchObject({
      ipProtocol: "tcp",
      fromPort: catalog.containerPort,
      toPort: catalog.containerPort,
    });
    expect(r.inputs["referencedSecurityGroupId"]).toBeTruthy();
    expect(r.inputs["cidrIpv4"]).toBeUndefined();
  }
});
