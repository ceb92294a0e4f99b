import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import { z } from "zod";
import type { Cache } from "../shared/cache.ts";
import { ApiError, badRequest } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { isAdmin } from "../shared/principal.ts";
import type { ServiceClient } from "./serviceClient.ts";

/** Traffic share of each version of a service, in percent; they add up to 100. */
export type Weights = Record<string, number>;

export function weightsSchema(versions: readonly string[]) {
  return z.record(z.string(), z.number().int().min(0).max(100)).superRefine((w, ctx) => {
    for (const v of Object.keys(w)) {
      if (!versions.includes(v))
        ctx.addIssue({
          code: "custom",
          path: [v],
          message: `unknown version (known: ${versions.join(", ")})`,
        });
    }
    const total = Object.values(w).reduce((a, b) => a + b, 0);
    if (total !== 100)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `weights must add up to 100 (got ${total})`,
      });
  });
}

/** What the tier's store keeps of a service's weights: them, and the catalog's they came from. */
interface StoredWeights {
  weights: Weights;
  catalog: Weights;
}

function storedSchema(versions: readonly string[]) {
  return z.object({
    weights: weightsSchema(versions),
    catalog: z.record(z.string(), z.number()),
  });
}

const withoutZeros = (weights: Weights): Weights =>
  Object.fromEntries(Object.entries(weights).filter(([, w]) => w !== 0));

/** Whether two sets of weights send the same shares to the same versions (a 0 is no entry). */
function sameWeights(a: Weights, b: Weights): boolean {
  const x = withoutZeros(a);
  const y = withoutZeros(b);
  return (
    Object.keys(x).length === Object.keys(y).length && Object.keys(x).every((v) => x[v] === y[v])
  );
}

/** The user's bucket in [0, 100): stable for a user and a service, so a user sticks to a version. */
export function bucketOf(userId: string, service: string): number {
  return createHash("sha256").update(`${service}:${userId}`).digest().readUInt32BE(0) % 100;
}

/**
 * The version a bucket falls in: the versions take consecutive ranges of [0, 100) in catalog
 * order, each as wide as its weight. A version that grows keeps the users it had.
 */
export function versionOfBucket(bucket: number, versions: readonly string[], weights: Weights) {
  let cumulative = 0;
  for (const v of versions) {
    cumulative += weights[v] ?? 0;
    if (bucket < cumulative) return v;
  }
  return versions.find((v) => (weights[v] ?? 0) > 0) ?? versions[0]!;
}

/**
 * The seeds' version router (upgrade layer): v1 and v2 of a service run side by side; weights
 * split traffic (canary, blue/green), `x-api-version` pins a version, and each user sticks to
 * one version because the choice is a hash of the user, not a coin toss. Weights live in the
 * tier's shared store (Redis when configured), so an admin changes them for every replica at
 * once, with no restart of the data path; each replica rereads them every `refreshMs`.
 *
 * The catalog's weights are where a deployment starts, and the live weights hold until the
 * catalog's change: the store keeps, beside the weights, the catalog weights they were moved
 * from. A replica deployed with those same catalog weights (a restart, a scale-out, a deploy
 * that changed something else, a version added at weight 0) takes the live weights; one
 * deployed with other catalog weights puts its catalog's in the store, since an operator who
 * edits the catalog's weights and deploys means them. Replicas of the previous deployment,
 * still running during the roll, keep what they have until they are replaced.
 */
export class VersionRouter {
  readonly service: string;
  readonly versions: readonly string[];
  private weights: Weights;
  /** The catalog's weights this replica was deployed with, without the versions at 0. */
  private readonly catalog: Weights;
  private readonly store: Cache;
  private readonly logger: Logger;
  private readonly timer: NodeJS.Timeout;
  /** The first read of the store: a new replica settles what it routes by before it serves. */
  readonly loaded: Promise<void>;

  constructor(opts: {
    service: string;
    initial: Weights;
    store: Cache;
    logger: Logger;
    refreshMs?: number;
  }) {
    this.service = opts.service;
    this.versions = Object.keys(opts.initial).sort();
    this.weights = opts.initial;
    this.catalog = withoutZeros(opts.initial);
    this.store = opts.store;
    this.logger = opts.logger;
    this.loaded = this.refresh(true);
    this.timer = setInterval(() => void this.refresh(), opts.refreshMs ?? 2_000);
    this.timer.unref();
  }

  private get storeKey(): string {
    return `versions:${this.service}`;
  }

  current(): Weights {
    return { ...this.weights };
  }

  /**
   * The version for this request: the pinned one if valid, else the user's bucket. A version at
   * weight 0 is one an operator drained: only an admin may still pin it (to check it before
   * sending traffic back), or anyone could keep using what was taken out.
   */
  choose(userId: string, pinned: string | undefined, admin = false): string {
    if (pinned !== undefined) {
      if (!this.versions.includes(pinned)) {
        throw badRequest(
          "unknown_api_version",
          `x-api-version: ${this.service} has no version ${pinned} (known: ${this.versions.join(", ")})`,
          "x-api-version",
        );
      }
      if (!admin && (this.weights[pinned] ?? 0) === 0) {
        throw new ApiError(
          403,
          "permission_error",
          "api_version_drained",
          `x-api-version: ${this.service} ${pinned} takes no traffic now; only an admin key may pin it`,
          "x-api-version",
        );
      }
      return pinned;
    }
    if (this.versions.length === 1) return this.versions[0]!;
    return versionOfBucket(bucketOf(userId, this.service), this.versions, this.weights);
  }

  /** Validates and stores new weights for every replica of the tier. */
  async setWeights(input: unknown): Promise<Weights> {
    const parsed = weightsSchema(this.versions).safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = ["weights", ...issue.path.map(String)].join(".");
      throw badRequest("invalid_weights", `${field}: ${issue.message}`, field);
    }
    const weights = this.complete(parsed.data);
    await this.write(weights);
    this.weights = weights;
    this.logger.info({ service: this.service, weights }, "version weights changed");
    return weights;
  }

  /** Every version of this replica's, at 0 where `weights` leaves it out. */
  private complete(weights: Weights): Weights {
    return Object.fromEntries(this.versions.map((v) => [v, weights[v] ?? 0]));
  }

  private async write(weights: Weights): Promise<void> {
    const record: StoredWeights = { weights, catalog: this.catalog };
    await this.store.set(this.storeKey, JSON.stringify(record), 365 * 24 * 3600);
  }

  /**
   * Takes the tier's live weights when they were moved from this replica's catalog weights. At
   * start (`first`), a replica whose catalog weights differ from those the store's were moved
   * from puts its catalog's in the store: a deploy that changed the weights wins over the
   * earlier live ones. Later, such a record is another deployment's, and is left alone.
   */
  async refresh(first = false): Promise<void> {
    try {
      const text = await this.store.get(this.storeKey);
      if (!text) return;
      const parsed: unknown = JSON.parse(text);
      // A record of gateways older than the catalog marker is plain weights: still the live ones.
      const legacy = weightsSchema(this.versions).safeParse(parsed);
      const record = legacy.success
        ? { weights: legacy.data, catalog: this.catalog }
        : storedSchema(this.versions).safeParse(parsed).data;
      if (!record) return;
      const { weights, catalog } = record;
      if (sameWeights(catalog, this.catalog)) this.weights = this.complete(weights);
      else if (first) {
        await this.write(this.weights);
        this.logger.info(
          { service: this.service, weights: this.weights, replaced: weights },
          "the catalog's version weights changed: they replace the live ones",
        );
      }
    } catch (err) {
      this.logger.warn(
        { err, service: this.service },
        "could not reread version weights; keeping the last ones",
      );
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * The version-router step of the gateway's chain: picks the version of the route's service for
 * this caller (sticky by user, `x-api-version` pins a version, a drained one for admins only)
 * and hands the later steps that version's client.
 */
export function chooseVersion(
  routers: ReadonlyMap<string, VersionRouter>,
  clientOf: (service: string, version: string) => ServiceClient,
): RequestHandler {
  return (req, res, next) => {
    const { service } = res.locals.target!;
    const principal = res.locals.principal!;
    const pinned = req.headers["x-api-version"];
    const version = routers
      .get(service)!
      .choose(principal.userId, Array.isArray(pinned) ? pinned[0] : pinned, isAdmin(principal));
    const client = clientOf(service, version);
    res.locals.client = client;
    res.locals.upstream = client.name;
    next();
  };
}
