// The restricted Pod Security Standard, written once for every workload the components create,
// so that a rule of it cannot be kept in one component and forgotten in another.

/** Pod-level settings: a fixed non-root uid/gid (files it writes belong to it) and seccomp. */
export function restrictedPodSecurity(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level settings: no privilege escalation, no capabilities, root fs read-only if it can be. */
export function restrictedContainerSecurity(readOnlyRootFilesystem: boolean) {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
}
