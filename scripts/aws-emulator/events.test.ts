import { readEvents } from "./events.ts";

// The engine's events as `pulumi up --json` prints them: one JSON event per line.

const urn = (type: string, name: string) => `urn:pulumi:dev::platform::${type}::${name}`;
const done = (op: string, u: string) => ({ resOutputsEvent: { metadata: { op, urn: u } } });

const log = (events: object[]) =>
  events.map((e, i) => JSON.stringify({ sequence: i, ...e })).join("\n");

test("counts completed steps by operation and names each failed resource with its error", () => {
  const image = urn("platform:aws:ServiceImage$docker:index/image:Image", "platform-image");
  const stdout = log([
    { preludeEvent: { config: {} } },
    done("create", urn("aws:ec2/vpc:Vpc", "vpc")),
    done("create", urn("aws:ec2/subnet:Subnet", "a")),
    done("same", urn("aws:kms/key:Key", "k")),
    done("update", urn("aws:ecs/service:Service", "orders")),
    done("replace", urn("aws:ecs/taskDefinition:TaskDefinition", "orders")),
    done("create-replacement", urn("aws:ecs/taskDefinition:TaskDefinition", "orders")),
    {
      diagnosticEvent: {
        urn: image,
        severity: "error",
        message: "\u001b[31merror: \u001b[0mError pushing image: no such host\n",
      },
    },
    { diagnosticEvent: { severity: "error", message: "update failed" } },
    { resOpFailedEvent: { metadata: { op: "create", urn: image }, status: 1, steps: 1 } },
    { summaryEvent: { resourceChanges: { create: 2 } } },
  ]);
  const { counts, failed } = readEvents(`${stdout}\nwarning: a line the CLI printed itself\n`);
  expect(counts).toEqual({ create: 2, update: 1, replace: 1, delete: 0, same: 1, failed: 1 });
  expect([...failed]).toEqual([[image, "error: Error pushing image: no such host"]]);
});

test("a CLI that stopped before the engine ran (an error line, no events) counts nothing", () => {
  expect(readEvents("error: unknown flag: --bad\n").counts).toMatchObject({ create: 0, failed: 0 });
});

test("a resource the program could not send is a failure of its own, with the reason", () => {
  const { failed } = readEvents(
    log([
      {
        diagnosticEvent: {
          urn: urn("pulumi:pulumi:Stack", "platform-dev"),
          severity: "error",
          message:
            "Running program failed with an unhandled exception:\nError: failed to register new resource platform-identity-db-roles [aws:lambda/function:Function]: 2 UNKNOWN: failed to compute asset hash: no such host\n    at x",
        },
      },
    ]),
  );
  expect([...failed]).toEqual([
    [
      "urn:pulumi:unsent::unsent::aws:lambda/function:Function::platform-identity-db-roles",
      "2 UNKNOWN: failed to compute asset hash: no such host",
    ],
  ]);
});
