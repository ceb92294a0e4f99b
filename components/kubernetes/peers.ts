import type * as k8s from "@pulumi/kubernetes";

// How the Kubernetes components name the pods a NetworkPolicy lets in or out. Every namespace
// carries `kubernetes.io/metadata.name` (set by the API server since 1.22), so a peer is chosen
// by namespace name and pod labels without labelling namespaces by hand.

/** The pods with `labels` in `namespace`, or every pod of the namespace when `labels` is unset. */
export interface PodPeer {
  namespace: string;
  labels?: Record<string, string>;
}

/** A peer and the TCP port it is reached on. */
export interface PortPeer extends PodPeer {
  port: number;
}

export function peerSelector(peer: PodPeer): k8s.types.input.networking.v1.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": peer.namespace } },
    ...(peer.labels ? { podSelector: { matchLabels: peer.labels } } : {}),
  };
}

/** Egress rules to each peer on its port, one rule per distinct port. */
export function egressRules(
  peers: readonly PortPeer[],
): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
  const ports = [...new Set(peers.map((p) => p.port))].sort((a, b) => a - b);
  return ports.map((port) => ({
    to: peers.filter((p) => p.port === port).map(peerSelector),
    ports: [{ protocol: "TCP", port }],
  }));
}
