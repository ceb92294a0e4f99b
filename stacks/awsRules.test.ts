import { DomainData } from "../components/aws/domainData.ts";
import { ServiceGroup } from "../components/aws/serviceGroup.ts";
import { defaultCatalog } from "../platform/catalog/default.ts";
import type { CatalogInput } from "../platform/catalog/index.ts";
import { catalog, domains, services, validateCatalog } from "../platform/catalog/index.ts";
import { databasePool } from "../infra/aws/workloads.ts";
import { AUTONAME_SUFFIX, derivedNames, nameProblem, nameRules } from "../infra/aws/names.ts";
import { MSK_REFUSED_ZONE_IDS } from "../infra/aws/zones.ts";
import { dlqTopics } from "../services/gateway/dlqTopics.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { mockAccount, mockArn, mockZoneIds } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { workloadName } from "../platform/names.ts";

// AWS's own rules over the planned graph, which mocks do not apply: names within their budgets,
// account-wide names that two stacks never share, zones MSK accepts, and what `destroy` needs.
// Each test fails on a graph that AWS would refuse at `up` or `destroy`.

let dev: RunResult;
let prod: RunResult;
beforeAll(async () => {
  // One at a time: the mock engine is global to the process.
  dev = await runProgram({ stack: "dev", secrets: {} });
  prod = await runProgram({ stack: "prod", secrets: {} });
});

/** The name AWS sees: the one the program set, else Pulumi's autoname (suffix stood in). */
function physicalName(r: ResourceRecord): string {
  const set = r.inputs[nameRules[r.type]!.property];
  return typeof set === "string" ? set : `${r.name}${AUTONAME_SUFFIX}`;
}

function namedRecords(run: RunResult): ResourceRecord[] {
  return run.records.all.filter((r) => r.type in nameRules);
}

function variant(change: (c: CatalogInput) => void) {
  const copy = structuredClone(defaultCatalog);
  change(copy);
  return validateCatalog(copy);
}

describe("names (F4)", () => {
  test("every name in the dev graph keeps AWS's length and charset rules", () => {
    const broken = namedRecords(dev).flatMap((r) => {
      const problem = nameProblem(nameRules[r.type]!, physicalName(r));
      return problem ? [`${r.type} ${r.name}: ${problem}`] : [];
    });
    expect(namedRecords(dev).length).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });

  test("infra/aws/names.ts derives every such name, so the load-time check sees them all", () => {
    const derived = new Set(derivedNames(catalog, "dev").map((n) => `${n.type} ${n.name}`));
    const missing = namedRecords(dev)
      .map((r) => `${r.type} ${physicalName(r)}`)
      .filter((n) => !derived.has(n));
    expect(missing).toEqual([]);
  });

  test("a catalog at the edge of every budget passes the check, and so does its graph", async () => {
    // A 9-letter domain fills the target group's 32 characters; a 31-letter service with a v10
    // and a bucket is the longest label and bucket the schema allows.
    const edge = variant((c) => {
      c.domains["identity0"] = c.domains["identity"]!;
      delete c.domains["identity"];
      for (const s of Object.values(c.services))
        if (s.domain === "identity") s.domain = "identity0";
      c.services["subscription-reconciliation-job"] = {
        domain: "business",
        routes: ["/v1/reconcile"],
        blobs: true,
        versions: [
          { name: "v1", weight: 90 },
          { name: "v10", weight: 10 },
        ],
      };
    });
    const run = await runProgram({ stack: "dev", secrets: {}, catalog: edge });
    const broken = namedRecords(run).flatMap((r) => {
      const problem = nameProblem(nameRules[r.type]!, physicalName(r));
      return problem ? [`${r.type} ${r.name}: ${problem}`] : [];
    });
    expect(broken).toEqual([]);
    const tg = run.records.byType("aws:lb/targetGroup:TargetGroup").map(physicalName);
    expect(Math.max(...tg.map((n) => n.length))).toBe(32);
  });

  test("a catalog over a budget stops the program before any resource, naming the field", async () => {
    const long = variant((c) => (c.name = "platform-eu-west-prod"));
    await expect(runProgram({ stack: "dev", secrets: {}, catalog: long })).rejects.toThrow(
      /catalog\.name: its load balancer name "platform-eu-west-prod-alb-0123abc" has 33 characters/,
    );
  });
});

describe("account-wide names carry the stack (B4)", () => {
  test("dev and prod in one account share no name that is not autonamed", () => {
    const explicit = (run: RunResult) =>
      new Set(
        namedRecords(run)
          .filter((r) => typeof r.inputs[nameRules[r.type]!.property] === "string")
          // Cloud Map names live inside each stack's own namespace.
          .filter((r) => r.type !== "aws:servicediscovery/service:Service")
          .map(physicalName),
      );
    const both = [...explicit(dev)].filter((n) => explicit(prod).has(n));
    expect(explicit(dev).size).toBeGreaterThan(0);
    expect(both).toEqual([]);
  });

  test("the dashboard and every task family name the stack", () => {
    const dashboard = dev.records.byType("aws:cloudwatch/dashboard:Dashboard")[0]!;
    expect(dashboard.inputs["dashboardName"]).toBe(`${catalog.name}-dev`);
    for (const td of dev.records.byType("aws:ecs/taskDefinition:TaskDefinition"))
      expect(String(td.inputs["family"])).toMatch(/-dev$/);
  });
});

describe("what MSK accepts (F2, F3)", () => {
  test("no subnet is in a zone ID MSK refuses, and MSK gets one per zone", () => {
    const zones = dev.records.subnetZones();
    for (const cluster of dev.records.byType("aws:msk/cluster:Cluster")) {
      const info = cluster.inputs["brokerNodeGroupInfo"] as { clientSubnets: string[] };
      const ids = info.clientSubnets.map((s) => mockZoneIds[zones.get(s)!]);
      expect(ids.filter((id) => MSK_REFUSED_ZONE_IDS.includes(id!))).toEqual([]);
      expect(new Set(ids).size).toBe(catalog.zones);
    }
    const refusedZones = Object.entries(mockZoneIds)
      .filter(([, id]) => MSK_REFUSED_ZONE_IDS.includes(id))
      .map(([zone]) => zone);
    // The mock region lists a refused zone first, as a real account may.
    expect(refusedZones).toContain(Object.keys(mockZoneIds)[0]);
    for (const subnet of dev.records.byType("aws:ec2/subnet:Subnet"))
      expect(refusedZones).not.toContain(subnet.inputs["availabilityZone"]);
  });

  test("four zones stop the program at catalog.zones", async () => {
    await expect(
      runProgram({ stack: "dev", secrets: {}, catalog: variant((c) => (c.zones = 4)) }),
    ).rejects.toThrow(/catalog\.zones: MSK takes 2 or 3 client subnets/);
  });

  test("configured zones are zone IDs, and the subnets land in those zones", async () => {
    const run = await runProgram({
      stack: "dev",
      secrets: {},
      config: { "platform:availabilityZones": "use1-az4,use1-az2" },
    });
    const zones = run.records
      .byType("aws:ec2/subnet:Subnet")
      .map((s) => mockZoneIds[String(s.inputs["availabilityZone"])]);
    expect([...new Set(zones)]).toEqual(["use1-az4", "use1-az2"]);
    await expect(
      runProgram({
        stack: "dev",
        secrets: {},
        config: { "platform:availabilityZones": "use1-az3,use1-az1" },
      }),
    ).rejects.toThrow(/platform:availabilityZones must not list use1-az3, where MSK/);
  });
});

describe("Cloud Map (B11, F8)", () => {
  test("a service that would scale past 8 tasks stops the program, naming its replicas", async () => {
    await expect(
      runProgram({
        stack: "dev",
        secrets: {},
        catalog: variant((c) => (c.services["orders"]!.replicas = 3)),
      }),
    ).rejects.toThrow(/catalog\.services\.orders\.replicas: 3 replicas scale out to 9 tasks/);
  });

  test("every Cloud Map service can be deleted with instances still registered", () => {
    // DeleteService fails while instances are registered, which ECS may not have finished
    // deregistering when destroy reaches it: https://docs.aws.amazon.com/cloud-map/latest/api/API_DeleteService.html
    const all = dev.records.byType("aws:servicediscovery/service:Service");
    expect(all.length).toBeGreaterThan(0);
    for (const s of all)
      expect({ name: s.name, forceDestroy: s.inputs["forceDestroy"] }).toEqual({
        name: s.name,
        forceDestroy: true,
      });
  });
});

describe("final snapshots (F6)", () => {
  test("each database's final snapshot identifier is new for each instance it would delete", () => {
    const instances = dev.records.byType("aws:rds/instance:Instance");
    expect(instances.length).toBeGreaterThan(0);
    for (const db of instances) {
      const id = String(db.inputs["finalSnapshotIdentifier"]);
      // A random part, replaced whenever the instance is (its replacement-forcing inputs are
      // the keepers): a fixed identifier fails the second deletion with DBSnapshotAlreadyExists.
      const random = dev.records
        .byType("random:index/randomId:RandomId")
        .find((r) => r.parent === db.parent && r.name === `${db.name}-final`);
      expect({ db: db.name, random: random?.name }).toEqual({
        db: db.name,
        random: `${db.name}-final`,
      });
      expect(id).toMatch(new RegExp(`^${db.name}-final-[0-9a-f]{8}$`));
      expect(Object.keys(random!.inputs["keepers"] as object).sort()).toEqual(
        ["identifier", "dbName", "engine", "kmsKeyId", "storageEncrypted", "username"].sort(),
      );
      expect(nameProblem({ ...nameRules["aws:rds/instance:Instance"]!, max: 255 }, id)).toBe(
        undefined,
      );
    }
  });
});

describe("what destroy leaves and what up waits for (B2, B6)", () => {
  test("the key of every database's final snapshot outlives destroy", () => {
    // A snapshot encrypted with a deleted key cannot be restored.
    const keys = new Map(
      dev.records.byType("aws:kms/key:Key").map((k) => [mockArn(k.type, k.name), k]),
    );
    const instances = dev.records.byType("aws:rds/instance:Instance");
    expect(instances.length).toBeGreaterThan(0);
    for (const db of instances) {
      const key = keys.get(String(db.inputs["kmsKeyId"]));
      expect({ db: db.name, key: key?.name, retained: key?.retainOnDelete }).toEqual({
        db: db.name,
        key: key?.name ?? "a key of this stack",
        retained: true,
      });
    }
  });

  test("up waits for each ECS service's steady state, as long as platform:steadyStateTimeoutMinutes", async () => {
    const longer = await runProgram({
      stack: "dev",
      secrets: {},
      config: { "platform:steadyStateTimeoutMinutes": "40" },
    });
    for (const [run, minutes] of [
      [dev, 15],
      [longer, 40],
    ] as const) {
      const services = run.records.byType("aws:ecs/service:Service");
      expect(services.length).toBeGreaterThan(0);
      for (const s of services)
        expect({
          name: s.name,
          wait: s.inputs["waitForSteadyState"],
          timeouts: s.customTimeouts,
        }).toEqual({
          name: s.name,
          wait: true,
          timeouts: { create: `${minutes}m`, update: `${minutes}m`, delete: "" },
        });
    }
  });

  test("a steady-state timeout out of range stops the program, naming the key", async () => {
    await expect(
      runProgram({
        stack: "dev",
        secrets: {},
        config: { "platform:steadyStateTimeoutMinutes": "2" },
      }),
    ).rejects.toThrow(/platform:steadyStateTimeoutMinutes must be 5 to 120 minutes/);
  });
});

describe("task egress (B12)", () => {
  /** The tasks' security groups and whether each may send to the internet. */
  function openEgress(run: RunResult): Record<string, boolean> {
    const groups = new Set(run.records.byType("platform:aws:TaskSecurityGroup").map((g) => g.urn));
    return Object.fromEntries(
      run.records
        .byType("aws:ec2/securityGroup:SecurityGroup")
        .filter((sg) => sg.parent && groups.has(sg.parent))
        .map((sg) => [
          sg.name,
          (sg.inputs["egress"] as { cidrBlocks?: string[] }[]).some((e) =>
            (e.cidrBlocks ?? []).includes("0.0.0.0/0"),
          ),
        ]),
    );
  }

  test("no task reaches the internet unless its catalog entry says `internet`", async () => {
    const closed = openEgress(dev);
    expect(Object.keys(closed).length).toBeGreaterThan(10);
    expect(Object.entries(closed).filter(([, open]) => open)).toEqual([]);

    const calling = await runProgram({
      stack: "dev",
      secrets: {},
      catalog: variant((c) => (c.services["inference"]!.internet = true)),
    });
    const open = Object.entries(openEgress(calling)).filter(([, o]) => o);
    expect(open).toEqual([["platform-inference-sg", true]]);
  });

  test("a task may still reach the VPC and S3 (ECR layers, blobs) on HTTPS", () => {
    const sg = dev.records.one("aws:ec2/securityGroup:SecurityGroup", "platform-storage-sg");
    const egress = sg.inputs["egress"] as {
      cidrBlocks?: string[];
      prefixListIds?: string[];
      fromPort: number;
      toPort: number;
    }[];
    expect(egress.map((e) => [e.cidrBlocks ?? e.prefixListIds, e.fromPort, e.toPort])).toEqual([
      [["10.0.0.0/16"], 0, 65535],
      [["pl-63a5400a"], 443, 443],
    ]);
  });
});

describe("what the provider deprecates or AWS advises", () => {
  test("no Cloud Map service sets the deprecated failureThreshold", () => {
    for (const s of dev.records.byType("aws:servicediscovery/service:Service"))
      expect([s.name, s.inputs["healthCheckCustomConfig"]]).toEqual([s.name, {}]);
  });

  test("every lifecycle rule names its filter (an empty one will be an error)", () => {
    const rules = dev.records
      .byType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
      .flatMap((c) => (c.inputs["rules"] as { id: string; filter?: unknown }[]).map((r) => r));
    expect(rules.length).toBeGreaterThan(1);
    for (const r of rules) expect([r.id, r.filter]).toEqual([r.id, { prefix: "" }]);
  });

  test("only this account's flow logs may assume the flow-log role", () => {
    const role = dev.records
      .byType("aws:iam/role:Role")
      .find((r) => String(r.inputs["assumeRolePolicy"]).includes("vpc-flow-logs"));
    const [statement] = (
      JSON.parse(String(role!.inputs["assumeRolePolicy"])) as { Statement: unknown[] }
    ).Statement;
    expect(statement).toMatchObject({
      Condition: {
        StringEquals: { "aws:SourceAccount": mockAccount },
        ArnLike: { "aws:SourceArn": `arn:aws:ec2:us-east-1:${mockAccount}:vpc-flow-log/*` },
      },
    });
  });
});

describe("monitoring sees this topology's outages (B9)", () => {
  const alarms = () =>
    new Map(
      dev.records
        .byType("aws:cloudwatch/metricAlarm:MetricAlarm")
        .map((a) => [a.name, a.inputs] as const),
    );

  test("every tier: none healthy, 5xx of its own; every ECS service: fewer tasks than its floor", () => {
    const all = alarms();
    for (const d of domains(catalog)) {
      expect(all.get(`platform-gw-${d.name}-no-healthy`)).toMatchObject({
        metricName: "HealthyHostCount",
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
      });
      expect(all.get(`platform-gw-${d.name}-target-5xx`)).toMatchObject({
        metricName: "HTTPCode_Target_5XX_Count",
      });
    }
    const floors = [
      ...domains(catalog).map((d) => [workloadName.tier(d.name), d.gateway.replicas] as const),
      ...services(catalog).flatMap((s) =>
        s.versions.map((v) => [workloadName.service(s.name, v.name), s.replicas] as const),
      ),
    ];
    for (const [label, replicas] of floors)
      expect([label, all.get(`platform-${label}-tasks`)]).toMatchObject([
        label,
        { namespace: "ECS/ContainerInsights", metricName: "RunningTaskCount", threshold: replicas },
      ]);
  });

  test("every store: database connections, Redis evictions, each MSK broker's disk, the DLQ's depth", () => {
    const all = alarms();
    for (const d of domains(catalog)) {
      const limit = databasePool(catalog, d.name, 3).maxConnections;
      expect(all.get(`platform-${d.name}-db-connections`)).toMatchObject({
        metricName: "DatabaseConnections",
        threshold: Math.floor(limit * 0.8),
      });
      for (let node = 1; node <= d.data.redis.nodes; node++)
        expect(all.get(`platform-${d.name}-redis-evictions-${node}`)).toMatchObject({
          metricName: "Evictions",
        });
      // The replayers' lag on the domain's DLQ topic is the number of requests waiting in it.
      expect(all.get(`platform-${d.name}-dlq-depth`)).toMatchObject({
        namespace: "AWS/Kafka",
        metricName: "SumOffsetLag",
        dimensions: {
          "Cluster Name": `platform-${d.name}-kafka`,
          "Consumer Group": dlqTopics(d.name).groupId,
          Topic: dlqTopics(d.name).topic,
        },
      });
      for (let broker = 1; broker <= catalog.zones; broker++)
        expect(all.get(`platform-${d.name}-kafka-disk-${broker}`)).toMatchObject({
          namespace: "AWS/Kafka",
          metricName: "KafkaDataLogsDiskUsed",
          dimensions: { "Broker ID": String(broker) },
        });
    }
  });

  test("each database's exported log goes to a group the stack made first, with a retention", () => {
    for (const db of dev.records.byType("aws:rds/instance:Instance")) {
      const id = String(db.inputs["identifier"]);
      expect(id).toMatch(/-dev$/);
      const group = dev.records
        .byType("aws:cloudwatch/logGroup:LogGroup")
        .find((g) => g.inputs["name"] === `/aws/rds/instance/${id}/postgresql`);
      expect([id, group?.inputs["retentionInDays"]]).toEqual([id, 14]);
      expect(db.inputs["enabledCloudwatchLogsExports"]).toEqual(["postgresql"]);
    }
  });

  test("MSK grows its brokers' volumes before they fill, up to 4 x the catalog's size", () => {
    const targets = dev.records
      .byType("aws:appautoscaling/target:Target")
      .filter((t) => t.inputs["serviceNamespace"] === "kafka");
    expect(targets.map((t) => [t.name, t.inputs["maxCapacity"]]).sort()).toEqual(
      domains(catalog)
        .map((d) => [`platform-${d.name}-kafka-storage`, d.data.kafka.storageGb * 4])
        .sort(),
    );
  });
});

describe("ECS Exec sessions are encrypted and recorded (B10)", () => {
  test("the cluster encrypts sessions and logs them to an encrypted group of the stack", () => {
    const [cluster] = dev.records.byType("aws:ecs/cluster:Cluster");
    const key = dev.records.one("aws:kms/key:Key", "platform-exec");
    const group = dev.records.one("aws:cloudwatch/logGroup:LogGroup", "platform-exec");
    expect(cluster!.inputs["configuration"]).toEqual({
      executeCommandConfiguration: {
        kmsKeyId: mockArn(key.type, key.name),
        logging: "OVERRIDE",
        logConfiguration: {
          cloudWatchLogGroupName: "/ecs/exec/platform-dev",
          cloudWatchEncryptionEnabled: true,
        },
      },
    });
    expect(group.inputs).toMatchObject({
      name: "/ecs/exec/platform-dev",
      kmsKeyId: mockArn(key.type, key.name),
      retentionInDays: 14,
    });
    // CloudWatch Logs may use the key for that group alone.
    const policy = JSON.parse(String(key.inputs["policy"])) as {
      Statement: { Sid: string; Condition?: unknown }[];
    };
    expect(
      policy.Statement.find((st) => st.Sid === "CloudWatchLogsEncryptsTranscripts"),
    ).toMatchObject({
      Condition: {
        ArnEquals: {
          "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:us-east-1:${mockAccount}:log-group:/ecs/exec/platform-dev`,
        },
      },
    });
  });

  test("exactly the tasks with ECS Exec may decrypt sessions and write transcripts", () => {
    const key = mockArn("aws:kms/key:Key", "platform-exec");
    const services = dev.records.byType("aws:ecs/service:Service");
    const withExec = services
      .filter((s) => s.inputs["enableExecuteCommand"] === true)
      .map((s) => s.name.replace(/-service$/, ""))
      .sort();
    expect(withExec).toEqual(
      [...domains(catalog).map((d) => `platform-gw-${d.name}`), "platform-monitoring"].sort(),
    );
    const decrypting = dev.records
      .byType("aws:iam/rolePolicy:RolePolicy")
      .filter((p) => p.name.endsWith("-task"))
      .filter((p) =>
        (
          JSON.parse(String(p.inputs["policy"])) as {
            Statement: { Action: unknown; Resource: unknown }[];
          }
        ).Statement.some((st) => st.Action === "kms:Decrypt" && st.Resource === key),
      )
      .map((p) => p.name.replace(/-task$/, ""))
      .sort();
    expect(decrypting).toEqual(withExec);
  });
});

describe("alarms reach someone (B1)", () => {
  test("the alarm topic's key is the stack's own, and its policy lets CloudWatch publish", () => {
    const [topic, ...more] = prod.records.byType("aws:sns/topic:Topic");
    expect(more).toEqual([]);
    const key = prod.records
      .byType("aws:kms/key:Key")
      .find((k) => mockArn(k.type, k.name) === topic!.inputs["kmsMasterKeyId"]);
    expect(key?.name).toBe("platform-alarms");
    const policy = JSON.parse(String(key!.inputs["policy"])) as {
      Statement: { Principal: { Service?: string }; Action: string[]; Condition?: unknown }[];
    };
    const cloudwatch = policy.Statement.find(
      (st) => st.Principal.Service === "cloudwatch.amazonaws.com",
    );
    expect(cloudwatch?.Action.sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    expect(cloudwatch?.Condition).toEqual({
      StringEquals: { "aws:SourceAccount": mockAccount },
    });
  });
});

describe("the components refuse the same on their own", () => {
  const never = () => {
    throw new Error("the component should have refused its arguments");
  };

  test("DomainData refuses provisioned MSK on 4 subnets", async () => {
    await expect(
      runProgram({
        stack: "dev",
        program: () => {
          new DomainData("d", {
            vpcId: "vpc-1",
            vpcCidrBlock: "10.0.0.0/16",
            subnetIds: ["subnet-a", "subnet-b", "subnet-c", "subnet-d"],
            databaseRoles: ["orders"],
            postgres: {
              engineVersion: "16",
              instanceClass: "db.t4g.micro",
              storageGb: 20,
              backupRetentionDays: 7,
            },
            redis: { nodeType: "cache.t4g.micro", nodes: 2 },
            kafka: {
              mode: "provisioned",
              instanceType: "kafka.t3.small",
              version: "3.8.x",
              storageGb: 20,
            },
          });
          return never();
        },
      }),
    ).rejects.toThrow("d: MSK takes 2 or 3 client subnets (got 4)");
  });

  test("ServiceGroup refuses to scale past what Cloud Map answers", async () => {
    await expect(
      runProgram({
        stack: "dev",
        program: () => {
          new ServiceGroup("g", {
            clusterArn: "arn:cluster",
            clusterName: "cluster",
            vpcId: "vpc-1",
            vpcCidrBlock: "10.0.0.0/16",
            s3PrefixListId: "pl-1",
            subnetIds: ["subnet-a", "subnet-b"],
            namespaceId: "ns-1",
            discoveryName: "g",
            image: "image@sha256:0",
            repositoryArn: "arn:repo",
            command: ["main.ts"],
            containerPort: 8080,
            cpu: 256,
            memory: 512,
            replicas: 3,
            maxReplicas: 9,
            environment: {},
          });
          return never();
        },
      }),
    ).rejects.toThrow("g: maxReplicas (9) is above the 8 tasks Cloud Map answers");
  });
});
