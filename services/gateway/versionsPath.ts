// The public version-weights API, `GET|PUT /v1/versions/{service}` (admin API keys only): what
// the Upgrade Manager and the automation layer move traffic with on a deployed stack, through
// its public edge. The router sends it to the tier of the service named, whose gateways answer
// it themselves (versionRouter.ts). A module of its own: the router loads nothing else of them.

export const VERSIONS_PATH = "/v1/versions";

const SERVICE = /^\/v1\/versions\/([a-z][a-z0-9-]{0,62})$/;

/** The service a version-weights path names, or undefined for any other path. */
export const versionsServiceOf = (path: string): string | undefined => SERVICE.exec(path)?.[1];
