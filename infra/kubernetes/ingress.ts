import type { Catalog } from "../../platform/catalog/index.ts";
import { edgeLimits } from "../../platform/catalog/index.ts";

/** ingress-nginx's own proxy-read-timeout and proxy-send-timeout. */
const NGINX_DEFAULT_TIMEOUT_SECONDS = 60;
/** How much longer than the gateway nginx waits, so that the caller gets the gateway's own 504. */
const TIMEOUT_MARGIN_SECONDS = 5;

/**
 * The ingress-nginx annotations of the router's Ingress, from what the gateways accept: bodies up
 * to the largest `traffic.maxBodyBytes` of a routed service (ingress-nginx's default is 1m, which
 * would refuse uploads the storage service takes), and upstream silences up to the longest
 * `traffic.timeouts` (a streamed chat answer may pause `idleMs` between tokens). Other
 * controllers ignore them.
 */
export function ingressNginxAnnotations(catalog: Catalog): Record<string, string> {
  const { maxBodyBytes, longestSilenceMs } = edgeLimits(catalog);
  const timeout = String(
    Math.max(
      NGINX_DEFAULT_TIMEOUT_SECONDS,
      Math.ceil(longestSilenceMs / 1000) + TIMEOUT_MARGIN_SECONDS,
    ),
  );
  return {
    // In bytes: nginx's client_max_body_size takes a plain number, and no rounding loosens it.
    "nginx.ingress.kubernetes.io/proxy-body-size": String(maxBodyBytes),
    "nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
    "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout,
  };
}
