import { mockSecrets, runProgram } from "../test/plan/harness.ts";
import { runPolicies } from "../test/plan/policyAdapter.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { ordersCanary } from "../test/support/catalogVariants.ts";
import { kubernetesPolicies } from "./kubernetes.ts";
import { policies } from "./rules.ts";

// The Kubernetes rules over the mocked k8s graph: the stack passes the whole pack, and for each
// rule a deliberately broken copy of the graph fails it with that rule's name.

type Graph = ResourceRecord[];
let graph: Graph;
/** The same stack on a cluster with KEDA: render scales through a ScaledObject. */
let kedaGraph: Graph;

const k8sGraph = async (config: Record<string, string> = {}): Promise<Graph> => [
  ...(
    await runProgram({
      stack: "k8s",
      secrets: { "platform:postgresPassword": mockSecrets["platform:postgresPassword"]! },
      config,
    })
  ).records.all,
];

beforeAll(async () => {
  graph = await k8sGraph();
  kedaGraph = await k8sGraph({ "platform:kedaNamespace": "keda" });
});

const pack = [...policies, ...kubernetesPolicies];

async function failures(g: Graph): Promise<string[]> {
  return (await runPolicies(g, pack)).map((v) => `${v.policy}: ${v.message}`);
}

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- edits reach deep into manifests

/** A copy of the graph with `edit` applied to the first resource of `type` (and `name`). */
function broken(
  type: string,
  edit: (inputs: Props, all: Graph) => void,
  name?: string,
  base = graph,
): Graph {
  const copy = structuredClone(base);
  const target = copy.find(
    (r) => r.type === type && (!name || (r.inputs as Props)["metadata"]?.name === name),
  );
  if (!target) throw new Error(`no ${type} ${name ?? ""} to break`);
  edit(target.inputs as Props, copy);
  return copy;
}

const container = (inputs: Props): Props => inputs["spec"].template.spec.containers[0];

test("a two-version catalog passes the whole pack: orders v2 is a Deployment of its own", async () => {
  const canary = [
    ...(
      await runProgram({
        stack: "k8s",
        secrets: { "platform:postgresPassword": mockSecrets["platform:postgresPassword"]! },
        catalog: ordersCanary(),
      })
    ).records.all,
  ];
  const deployments = canary
    .filter((r) => r.type === "kubernetes:apps/v1:Deployment")
    .map((r) => (r.inputs as Props)["metadata"].name as string);
  expect(deployments).toEqual(expect.arrayContaining(["orders", "orders-v2"]));
  expect(await failures(canary)).toEqual([]);
});

test("the k8s stack passes the whole pack, with and without KEDA", async () => {
  expect(await failures(graph)).toEqual([]);
  expect(kedaGraph.some((r) => r.type === "kubernetes:keda.sh/v1alpha1:ScaledObject")).toBe(true);
  expect(await failures(kedaGraph)).toEqual([]);
});

test.each<[string, () => Graph, string]>([
  [
    "a container that may escalate privileges",
    () =>
      broken(
        "kubernetes:apps/v1:Deployment",
        (i) => (container(i).securityContext.allowPrivilegeEscalation = true),
      ),
    "k8s-restricted-pods: container app must set allowPrivilegeEscalation: false",
  ],
  [
    "a writable root filesystem in a service",
    () =>
      broken(
        "kubernetes:apps/v1:Deployment",
        (i) => delete container(i).securityContext.readOnlyRootFilesystem,
      ),
    "must have a read-only root filesystem",
  ],
  [
    "a container running as root",
    () =>
      broken("kubernetes:apps/v1:Deployment", (i) => {
        delete container(i).securityContext.runAsNonRoot;
        delete i["spec"].template.spec.securityContext.runAsNonRoot;
      }),
    "must run as non-root",
  ],
  [
    "capabilities kept",
    () =>
      broken(
        "kubernetes:apps/v1:Deployment",
        (i) => (container(i).securityContext.capabilities = {}),
      ),
    "must drop ALL capabilities",
  ],
  [
    "a data store that may escalate privileges",
    () =>
      broken(
        "kubernetes:apps/v1:StatefulSet",
        (i) => (container(i).securityContext.allowPrivilegeEscalation = true),
      ),
    "must set allowPrivilegeEscalation: false",
  ],
  [
    "no memory limit",
    () => broken("kubernetes:apps/v1:Deployment", (i) => delete container(i).resources.limits),
    "needs a memory limit and a cpu request",
  ],
  [
    "a password as a literal env value",
    () =>
      broken("kubernetes:apps/v1:Deployment", (i) =>
        container(i).env.push({ name: "PGPASSWORD", value: "hunter2hunter2" }),
      ),
    "PGPASSWORD must come from a Secret",
  ],
  [
    "a single replica",
    () => broken("kubernetes:apps/v1:Deployment", (i) => (i["spec"].replicas = 1), "router"),
    "k8s-availability: Deployment platform-routing/router needs 2+ replicas (has 1)",
  ],
  [
    "no spread over zones",
    () =>
      broken(
        "kubernetes:apps/v1:Deployment",
        (i) => (i["spec"].template.spec.topologySpreadConstraints = []),
        "router",
      ),
    "Deployment platform-routing/router must spread its pods over zones",
  ],
  [
    "no PodDisruptionBudget",
    () =>
      broken(
        "kubernetes:policy/v1:PodDisruptionBudget",
        (i) => (i["spec"].selector.matchLabels = { nothing: "here" }),
        "router",
      ),
    "Deployment platform-routing/router needs a PodDisruptionBudget",
  ],
  [
    "an autoscaler allowed down to one replica",
    () =>
      broken(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        (i) => (i["spec"].minReplicas = 1),
        "router",
      ),
    "k8s-availability: Deployment platform-routing/router lets its autoscaler go below 2 replicas (1)",
  ],
  [
    "a ScaledObject left at KEDA's floor of zero",
    () =>
      broken(
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        (i) => delete i["spec"].minReplicaCount,
        "render",
        kedaGraph,
      ),
    "k8s-availability: Deployment platform-business/render lets its autoscaler go below 2 replicas (0)",
  ],
  [
    "a namespace without default deny",
    () =>
      broken(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        (i) => (i["spec"].policyTypes = ["Ingress"]),
        "default-deny",
      ),
    "k8s-default-deny: namespace",
  ],
])("%s fails its rule", async (_what, graphOf, expected) => {
  const found = await failures(graphOf());
  expect(found.some((f) => f.includes(expected))).toBe(true);
});
