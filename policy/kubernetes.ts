import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { list, obj, type Props } from "./props.ts";

// The platform's rules for the Kubernetes target, matched by type token like the AWS rules
// (rules.ts), so the pack loads no provider SDK and the mock tests see what a preview sees.

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  scaledObject: "kubernetes:keda.sh/v1alpha1:ScaledObject",
} as const;

const WORKLOADS: ReadonlySet<string> = new Set([T.deployment, T.statefulSet]);
/** Env var names that carry secrets; their value must come from a Secret, never a literal. */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|API_KEY)$/;

function podSpec(workload: Props): Props {
  return obj(obj(obj(workload["spec"])["template"])["spec"]);
}

function containersOf(workload: Props): Props[] {
  const spec = podSpec(workload);
  return [...list(spec["initContainers"]), ...list(spec["containers"])].map(obj);
}

function nameOf(r: { props: Props }): string {
  const meta = obj(r.props["metadata"]);
  return `${String(meta["namespace"] ?? "default")}/${String(meta["name"] ?? "?")}`;
}

/**
 * The restricted Pod Security profile for every workload, plus a read-only root filesystem for
 * the platform's own Deployments. The dev-only in-cluster stores (StatefulSets) are exempt from
 * that one: Kafka's launcher writes its generated configuration among the image's files, which
 * the restricted profile allows.
 */
function checkRestricted(type: string, props: Props, report: ReportViolation): void {
  const pod = obj(podSpec(props)["securityContext"]);
  for (const c of containersOf(props)) {
    const sc = obj(c["securityContext"]);
    const who = `container ${String(c["name"])}`;
    if ((sc["runAsNonRoot"] ?? pod["runAsNonRoot"]) !== true) report(`${who} must run as non-root`);
    if (sc["allowPrivilegeEscalation"] !== false)
      report(`${who} must set allowPrivilegeEscalation: false`);
    if (sc["privileged"] === true) report(`${who} must not be privileged`);
    if (type === T.deployment && sc["readOnlyRootFilesystem"] !== true)
      report(`${who} must have a read-only root filesystem`);
    if (!list(obj(sc["capabilities"])["drop"]).includes("ALL"))
      report(`${who} must drop ALL capabilities`);
    const resources = obj(c["resources"]);
    if (!obj(resources["limits"])["memory"] || !obj(resources["requests"])["cpu"])
      report(`${who} needs a memory limit and a cpu request`);
    for (const e of list(c["env"]).map(obj)) {
      if (SECRET_NAME.test(String(e["name"])) && e["value"] !== undefined)
        report(`${who}: ${String(e["name"])} must come from a Secret (valueFrom), not a literal`);
    }
  }
}

export const restrictedPods: ResourceValidationPolicy = {
  name: "k8s-restricted-pods",
  description:
    "Every workload runs under the restricted Pod Security profile (non-root, no privilege escalation, ALL capabilities dropped), with resources set and secrets only from Secrets; the platform's Deployments also have a read-only root filesystem.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (WORKLOADS.has(args.type)) checkRestricted(args.type, args.props as Props, report);
  },
};

function matches(selector: Props, labels: Props): boolean {
  const wanted = obj(selector["matchLabels"]);
  return (
    Object.keys(wanted).length > 0 && Object.entries(wanted).every(([k, v]) => labels[k] === v)
  );
}

function checkAvailability(resources: PolicyResource[], report: ReportViolation): void {
  for (const d of resources.filter((r) => r.type === T.deployment)) {
    const spec = obj(d.props["spec"]);
    const replicas = Number(spec["replicas"] ?? 1);
    if (replicas < 2) report(`Deployment ${nameOf(d)} needs 2+ replicas (has ${replicas})`, d.urn);
    const spread = list(podSpec(d.props)["topologySpreadConstraints"]).map(obj);
    if (!spread.some((s) => s["topologyKey"] === "topology.kubernetes.io/zone"))
      report(`Deployment ${nameOf(d)} must spread its pods over zones`, d.urn);
    const labels = obj(obj(obj(spec["template"])["metadata"])["labels"]);
    const namespace = obj(d.props["metadata"])["namespace"];
    const guarded = resources.some(
      (p) =>
        p.type === T.pdb &&
        obj(p.props["metadata"])["namespace"] === namespace &&
        matches(obj(obj(p.props["spec"])["selector"]), labels),
    );
    if (!guarded) report(`Deployment ${nameOf(d)} needs a PodDisruptionBudget`, d.urn);
    // An autoscaler's floor overrides the Deployment's count; KEDA's defaults to 0 (scale to zero).
    for (const floor of autoscalerFloors(resources, d)) {
      if (floor < 2)
        report(`Deployment ${nameOf(d)} lets its autoscaler go below 2 replicas (${floor})`, d.urn);
    }
  }
}

/** The least replicas of each autoscaler (HPA or KEDA ScaledObject) that targets Deployment `d`. */
function autoscalerFloors(resources: PolicyResource[], d: PolicyResource): number[] {
  const { name, namespace } = obj(d.props["metadata"]);
  return resources
    .filter((a) => a.type === T.hpa || a.type === T.scaledObject)
    .filter((a) => {
      const target = obj(obj(a.props["spec"])["scaleTargetRef"]);
      return (
        obj(a.props["metadata"])["namespace"] === namespace &&
        target["name"] === name &&
        (target["kind"] ?? "Deployment") === "Deployment"
      );
    })
    .map((a) => {
      const spec = obj(a.props["spec"]);
      return Number(a.type === T.hpa ? (spec["minReplicas"] ?? 1) : (spec["minReplicaCount"] ?? 0));
    });
}

export const availability: StackValidationPolicy = {
  name: "k8s-availability",
  description:
    "Every Deployment runs 2+ replicas spread over zones, guarded by a PodDisruptionBudget, and no autoscaler may take it below 2.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => checkAvailability(args.resources, report),
};

function checkDefaultDeny(resources: PolicyResource[], report: ReportViolation): void {
  const namespaces = new Set(
    resources
      .filter((r) => WORKLOADS.has(r.type))
      .map((r) => String(obj(r.props["metadata"])["namespace"] ?? "default")),
  );
  for (const ns of namespaces) {
    const denies = resources.some((p) => {
      if (p.type !== T.networkPolicy || obj(p.props["metadata"])["namespace"] !== ns) return false;
      const spec = obj(p.props["spec"]);
      const types = list(spec["policyTypes"]);
      return (
        Object.keys(obj(obj(spec["podSelector"])["matchLabels"])).length === 0 &&
        types.includes("Ingress") &&
        types.includes("Egress") &&
        list(spec["ingress"]).length === 0 &&
        list(spec["egress"]).length === 0
      );
    });
    if (!denies)
      report(`namespace ${ns} needs a default-deny NetworkPolicy (all pods, ingress and egress)`);
  }
}

export const defaultDeny: StackValidationPolicy = {
  name: "k8s-default-deny",
  description:
    "Every namespace with workloads denies all traffic by default; other NetworkPolicies open only what is needed.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => checkDefaultDeny(args.resources, report),
};

export const kubernetesPolicies = [restrictedPods, availability, defaultDeny];
