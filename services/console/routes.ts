import { readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";
import type { Express } from "express";
import { type StaticAsset, sendStaticAsset, staticAsset as asset } from "../shared/staticAsset.ts";
import { CONSOLE_CSS, CONSOLE_PAGE } from "./page.ts";
import { CONSOLE_PATH } from "./paths.ts";

// The web console (issue #20), answered by every gateway without a key (the page asks for one):
// the router sends /console to the default domain's tier, as the ALB's default action does on
// AWS. Its script is the client library's own browser modules (clients/platform-client/src),
// served as JavaScript with their types stripped by Node, so the browser runs the same task
// functions and retry rules as the Node client, with nothing built or bundled.
//   GET /console                 the page
//   GET /console/console.css     its styles
//   GET /console/lib/<module>    a module of the library, from a fixed list

const LIB = fileURLToPath(new URL("../../clients/platform-client/src/", import.meta.url));
/** What the browser may load: the console, its worker, and what they import. */
const MODULES = [
  "browser/console.ts",
  "browser/worker.ts",
  "browser/http.ts",
  "apiTasks.ts",
  "errors.ts",
  "protocol.ts",
  "retry.ts",
  "sse.ts",
];

// Nothing inline, nothing from elsewhere: the key typed in the page can only go to this origin.
const policy = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src blob:",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function consoleRoutes(app: Express): void {
  let assets: Map<string, StaticAsset> | undefined;
  // Built on first use: a gateway nobody opens the console on pays nothing.
  const files = () =>
    (assets ??= new Map([
      ["", asset(CONSOLE_PAGE, "text/html; charset=utf-8")],
      ["/console.css", asset(CONSOLE_CSS, "text/css; charset=utf-8")],
      ...MODULES.map(
        (m) =>
          [
            `/lib/${m}`,
            asset(
              stripTypeScriptTypes(readFileSync(`${LIB}${m}`, "utf8")),
              "text/javascript; charset=utf-8",
            ),
          ] as const,
      ),
    ]));

  app.get([CONSOLE_PATH, `${CONSOLE_PATH}/*path`], (req, res, next) => {
    res.locals.route = CONSOLE_PATH;
    const found = files().get(req.path.slice(CONSOLE_PATH.length));
    if (!found) return next();
    res.setHeader("content-security-policy", policy);
    res.setHeader("x-content-type-options", "nosniff");
    sendStaticAsset(res, found, "no-cache");
  });
}
