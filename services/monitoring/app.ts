import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, RequestHandler } from "express";
import { ApiError } from "../shared/errors.ts";
import { PRINCIPAL_HEADER_PREFIX } from "../shared/principal.ts";
import { statusPage } from "./page.ts";
import type { Scraper } from "./scraper.ts";

const ROUTE = "/v1/monitoring";

export interface MonitoringOptions {
  /**
   * ADMIN_TOKEN: what a request from the public edge must send as `x-admin-token`. Unset, the
   * edge gets nothing: the page shows the internal topology.
   */
  adminToken?: string;
  /** How often the status page reloads itself. */
  refreshSeconds: number;
}

/**
 * Who may look: a request that a gateway forwarded (it carries the principal headers every
 * gateway sets) came from the public edge with some customer's API key, which is not enough to
 * see the topology, so it needs the admin token too. A request without them reached this
 * replica's own port, which only the platform's network reaches: loopback for the local runner,
 * `kubectl port-forward` on Kubernetes, a one-off task or an ECS Exec session on AWS, where the
 * public edge with ADMIN_TOKEN is the dependable way (docs/monitoring.md).
 */
function guard(adminToken: string | undefined): RequestHandler {
  const expected = adminToken ? digest(adminToken) : undefined;
  return (req, res, next) => {
    res.locals.route = ROUTE;
    const viaGateway = Object.keys(req.headers).some((h) => h.startsWith(PRINCIPAL_HEADER_PREFIX));
    if (!viaGateway) return next();
    if (!expected) {
      return next(
        new ApiError(
          403,
          "permission_error",
          "monitoring_not_public",
          "monitoring is not open from the public edge without ADMIN_TOKEN; use the internal address (docs/monitoring.md)",
        ),
      );
    }
    const sent = req.headers["x-admin-token"];
    if (typeof sent !== "string" || !timingSafeEqual(digest(sent), expected)) {
      return next(
        new ApiError(
          403,
          "permission_error",
          "admin_token_required",
          "send the admin token as x-admin-token",
          "x-admin-token",
        ),
      );
    }
    next();
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export function monitoringRoutes(app: Express, scraper: Scraper, opts: MonitoringOptions): void {
  app.use(ROUTE, guard(opts.adminToken));
  app.get(ROUTE, (_req, res) => {
    res.json(scraper.overview());
  });
  app.get(`${ROUTE}/status`, (_req, res) => {
    res
      .type("html")
      .setHeader("cache-control", "no-store")
      .setHeader("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
      .send(statusPage(scraper.overview(), opts.refreshSeconds));
  });
}
