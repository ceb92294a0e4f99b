import { badRequest } from "./errors.ts";

// The request target as every hop reads it. Node and express disagree on odd targets (express
// falls back to the legacy URL parser on a `#`, so `req.path` and `req.originalUrl` differ), and
// a proxy that routes on one reading while a later step limits on another lets requests slip
// past the limits. So each hop accepts only RFC 3986 origin-form targets, reads them once, and
// passes on the normalised form.

/** `/`-rooted segments of pchar (RFC 3986 3.3): unreserved, pct-encoded, sub-delims, `:`, `@`. */
const PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+$/;
/** The query (RFC 3986 3.4): pchar, `/` and `?`. */
const QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export interface RequestTarget {
  /** The normalised path: unreserved characters decoded, other escapes in upper case. */
  path: string;
  /** The query without its `?`, as sent ("" when there is none). */
  query: string;
  /** What is passed on to the next hop: the path and, if any, `?` and the query. */
  url: string;
}

/** The request target read once, or a 400 for anything but `/path[?query]` of RFC 3986. */
export function parseTarget(raw: string | undefined): RequestTarget {
  const target = raw ?? "";
  const mark = target.indexOf("?");
  const rawPath = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? "" : target.slice(mark + 1);
  if (!PATH.test(rawPath) || !QUERY.test(query)) {
    throw badRequest(
      "invalid_request_target",
      "the request target must be a path of RFC 3986 characters with an optional query",
    );
  }
  // RFC 3986 6.2.2: `%7E` and `~` are the same path, so they must reach the same route and limit.
  const path = rawPath.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
  // Checked after decoding, so that `%2e%2e` is refused as `..` is.
  if (path.split("/").some((segment) => segment === "." || segment === "..")) {
    throw badRequest("invalid_request_target", "the request target must not have dot segments");
  }
  return { path, query, url: mark < 0 ? path : `${path}?${query}` };
}
