import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface IsolatedNamespaceArgs {
  /** Labels added to the namespace (besides the Pod Security ones). */
  labels?: Record<string, string>;
  /** Pod Security Standard enforced on every pod. Default `restricted`. */
  podSecurity?: "restricted" | "baseline";
}

/**
 * A namespace that denies by default: the `restricted` Pod Security Standard is enforced, and a
 * NetworkPolicy blocks all ingress and egress of its pods except DNS lookups. Workloads then open
 * exactly the paths they need with policies of their own (NetworkPolicies add up).
 */
export class IsolatedNamespace extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;

  constructor(
    name: string,
    args: IsolatedNamespaceArgs = {},
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("platform:kubernetes:IsolatedNamespace", name, {}, opts);
    const level = args.podSecurity ?? "restricted";

    const ns = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name,
          labels: {
            ...args.labels,
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": level,
            "pod-security.kubernetes.io/audit": level,
          },
        },
      },
      { parent: this },
    );
    this.name = ns.metadata.name;

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: { name: "default-deny", namespace: this.name },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      { parent: this },
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: { name: "allow-dns", namespace: this.name },
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                {
                  namespaceSelector: {
                    matchLabels: { "kubernetes.io/metadata.name": "kube-system" },
                  },
                  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                },
              ],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
      { parent: this },
    );

    this.registerOutputs({ name: this.name });
  }
}
