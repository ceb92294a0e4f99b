import type { Db } from "../shared/sql/db.ts";
import type { ModelEntry, ModelVersion, Selection } from "./contract.ts";

export const migrations = [
  `
CREATE TABLE models (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  backend TEXT NOT NULL,
  config TEXT NOT NULL,
  context_tokens INTEGER NOT NULL,
  max_output_tokens INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE aliases (
  alias TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version INTEGER,
  updated_at TEXT NOT NULL
);
`,
  // What a version came from (a training job), so that registering it again finds it.
  `ALTER TABLE models ADD COLUMN source TEXT;
CREATE UNIQUE INDEX models_source ON models (source);`,
  // Whose a version is: a trained model repeats its owner's corpus, so only they (and admins)
  // see and use it. Null for the platform's models, which everyone may use.
  `ALTER TABLE models ADD COLUMN owner TEXT;`,
];

/** Who is asking the registry: a user sees the platform's models and their own, an admin all. */
export interface Viewer {
  userId: string;
  admin: boolean;
}

/** The model every deployment has: the built-in trigram model over the shipped corpus. */
export const BUILTIN_MODEL = "ngram-3";
/**
 * The language model every inference replica loads (services/inference/llm/), and what DeepSeek's
 * names point at in a new registry. Its context is the replica's (INFERENCE_LLM_CONTEXT_TOKENS).
 */
export const LANGUAGE_MODEL = {
  name: "smollm2-135m",
  config: { gguf: "SmolLM2-135M-Instruct.Q4_1.gguf" },
  contextTokens: 2_048,
  maxOutputTokens: 1_024,
} as const;
/** DeepSeek's public model names, so that clients written for DeepSeek work unchanged. */
export const DEFAULT_ALIASES = ["deepseek-chat", "deepseek-reasoner"] as const;

interface ModelRow {
  name: string;
  version: number | string;
  backend: string;
  config: string;
  context_tokens: number | string;
  max_output_tokens: number | string;
  created_at: string;
  owner?: string | null;
}

const visibleTo = (viewer: Viewer, row: ModelRow) =>
  viewer.admin || row.owner == null || row.owner === viewer.userId;

const toModel = (r: ModelRow): ModelVersion => ({
  id: `${r.name}:${Number(r.version)}`,
  name: r.name,
  version: Number(r.version),
  backend: r.backend as ModelVersion["backend"],
  config: JSON.parse(r.config) as ModelVersion["config"],
  contextTokens: Number(r.context_tokens),
  maxOutputTokens: Number(r.max_output_tokens),
  createdAt: r.created_at,
});

export type NewModel = Pick<
  ModelVersion,
  "name" | "backend" | "config" | "contextTokens" | "maxOutputTokens"
> & {
  /**
   * What the version comes from, e.g. `training:<job id>`: registering the same source again
   * returns the version it made instead of adding one (a retried or resumed registration).
   */
  source?: string;
  /** The user whose model it is (a trained one); absent for the platform's models. */
  owner?: string;
};

/** Serialises version numbering of one model name across replicas (SQLite's write lock does it there). */
async function lockName(tx: Db, name: string): Promise<void> {
  if (tx.engine === "postgres")
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`model:${name}`]);
}

/** A source that registered a version under one name, registered again under another. */
export class SourceConflict extends Error {
  constructor(source: string, registered: string, asked: string) {
    super(`source ${source} registered a version of ${registered}, not of ${asked}`);
  }
}

export function modelStore(db: Db) {
  const latestRow = async (tx: Db, name: string): Promise<ModelRow | undefined> =>
    (
      await tx.query<ModelRow>(
        "SELECT * FROM models WHERE name = $1 ORDER BY version DESC LIMIT 1",
        [name],
      )
    )[0];
  const exactRow = async (tx: Db, name: string, version: number): Promise<ModelRow | undefined> =>
    (
      await tx.query<ModelRow>("SELECT * FROM models WHERE name = $1 AND version = $2", [
        name,
        version,
      ])
    )[0];
  const latest = async (tx: Db, name: string): Promise<ModelVersion | undefined> => {
    const row = await latestRow(tx, name);
    return row && toModel(row);
  };
  const exact = async (tx: Db, name: string, version: number) => {
    const row = await exactRow(tx, name, version);
    return row && toModel(row);
  };

  const insertNext = async (tx: Db, model: NewModel): Promise<ModelVersion> => {
    await lockName(tx, model.name);
    const version = ((await latest(tx, model.name))?.version ?? 0) + 1;
    const row: ModelRow = {
      name: model.name,
      version,
      backend: model.backend,
      config: JSON.stringify(model.config),
      context_tokens: model.contextTokens,
      max_output_tokens: model.maxOutputTokens,
      created_at: new Date().toISOString(),
    };
    await tx.query(
      `INSERT INTO models (name, version, backend, config, context_tokens, max_output_tokens, created_at, source, owner)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        row.name,
        row.version,
        row.backend,
        row.config,
        row.context_tokens,
        row.max_output_tokens,
        row.created_at,
        model.source ?? null,
        model.owner ?? null,
      ],
    );
    return toModel(row);
  };

  const store = {
    /**
     * Adds the next version of `model.name` (1 for a new name), or returns the version already
     * registered from `model.source` (`created: false`).
     */
    async register(model: NewModel): Promise<{ model: ModelVersion; created: boolean }> {
      return db.transaction(async (tx) => {
        // Under the name's lock: a source always registers under the same name.
        await lockName(tx, model.name);
        if (model.source !== undefined) {
          const rows = await tx.query<ModelRow>("SELECT * FROM models WHERE source = $1", [
            model.source,
          ]);
          if (rows[0]) {
            if (rows[0].name !== model.name)
              throw new SourceConflict(model.source, rows[0].name, model.name);
            return { model: toModel(rows[0]), created: false };
          }
        }
        return { model: await insertNext(tx, model), created: true };
      });
    },

    /** A registered model: that version, or the latest when `version` is absent. */
    async find(name: string, version?: number): Promise<ModelVersion | undefined> {
      return version === undefined ? latest(db, name) : exact(db, name, version);
    },

    /** Points `alias` at `name` (its latest version when `version` is absent). */
    async setAlias(alias: string, name: string, version?: number): Promise<void> {
      await db.query(
        `INSERT INTO aliases (alias, name, version, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (alias) DO UPDATE SET name = excluded.name, version = excluded.version,
           updated_at = excluded.updated_at`,
        [alias, name, version ?? null, new Date().toISOString()],
      );
    },

    /**
     * The concrete version behind a requested name: an alias first, then `name:version`, then a
     * name (its latest version). Undefined when nothing matches, or when what matches is another
     * user's model: the same answer, so that nobody learns what others trained.
     */
    async select(requested: string, viewer: Viewer): Promise<Selection | undefined> {
      const alias = (
        await db.query<{ name: string; version: number | string | null }>(
          "SELECT name, version FROM aliases WHERE alias = $1",
          [requested],
        )
      )[0];
      let row: ModelRow | undefined;
      if (alias) {
        row =
          alias.version === null
            ? await latestRow(db, alias.name)
            : await exactRow(db, alias.name, Number(alias.version));
      } else {
        const pinned = /^(.+):([1-9][0-9]{0,8})$/.exec(requested);
        row = pinned
          ? await exactRow(db, pinned[1]!, Number(pinned[2]))
          : await latestRow(db, requested);
      }
      return row && visibleTo(viewer, row) ? { requested, model: toModel(row) } : undefined;
    },

    /**
     * What `GET /v1/models` lists for `viewer`: every alias of a model they may use, then every
     * version they may use by its `name:version`, in that order.
     */
    async list(viewer: Viewer): Promise<ModelEntry[]> {
      const rows = viewer.admin
        ? await db.query<ModelRow>("SELECT * FROM models ORDER BY name, version")
        : await db.query<ModelRow>(
            "SELECT * FROM models WHERE owner IS NULL OR owner = $1 ORDER BY name, version",
            [viewer.userId],
          );
      const models = rows.map(toModel);
      const names = new Set(models.map((m) => m.name));
      const ids = new Set(models.map((m) => m.id));
      const aliases = await db.query<{
        alias: string;
        name: string;
        version: number | string | null;
        updated_at: string;
      }>("SELECT alias, name, version, updated_at FROM aliases ORDER BY alias");
      const created = (iso: string) => Math.floor(Date.parse(iso) / 1000);
      return [
        ...aliases
          .filter((a) =>
            a.version === null ? names.has(a.name) : ids.has(`${a.name}:${Number(a.version)}`),
          )
          .map((a) => ({
            id: a.alias,
            object: "model" as const,
            created: created(a.updated_at),
            owned_by: "platform",
          })),
        ...models.map((m) => ({
          id: m.id,
          object: "model" as const,
          created: created(m.createdAt),
          owned_by: m.backend === "builtin" ? "platform" : "upstream",
        })),
      ];
    },

    /**
     * What every registry starts with, safe for replicas starting at once: the built-in model's
     * first version and DeepSeek's names pointing at it, unless they exist already (an operator
     * may have moved them). Each configured upstream model is registered once and takes the
     * alias of its own name at every start, since configuration says where it should point.
     */
    async seed(upstreamModels: readonly string[]): Promise<void> {
      await db.transaction(async (tx) => {
        const builtins = [
          { name: BUILTIN_MODEL, config: { corpus: "default" }, context: 4_096, output: 1_024 },
          {
            name: LANGUAGE_MODEL.name,
            config: LANGUAGE_MODEL.config,
            context: LANGUAGE_MODEL.contextTokens,
            output: LANGUAGE_MODEL.maxOutputTokens,
          },
        ];
        for (const model of builtins) {
          await lockName(tx, model.name);
          if (!(await latest(tx, model.name))) {
            await tx.query(
              `INSERT INTO models (name, version, backend, config, context_tokens, max_output_tokens, created_at)
               VALUES ($1, 1, 'builtin', $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
              [
                model.name,
                JSON.stringify(model.config),
                model.context,
                model.output,
                new Date().toISOString(),
              ],
            );
          }
        }
        for (const alias of DEFAULT_ALIASES) {
          await tx.query(
            `INSERT INTO aliases (alias, name, version, updated_at) VALUES ($1, $2, NULL, $3)
             ON CONFLICT (alias) DO NOTHING`,
            [alias, LANGUAGE_MODEL.name, new Date().toISOString()],
          );
        }
      });
      for (const upstream of upstreamModels) {
        const name = `upstream-${upstream}`;
        await db.transaction(async (tx) => {
          await lockName(tx, name);
          if (!(await latest(tx, name))) {
            await insertNext(tx, {
              name,
              backend: "upstream",
              config: { model: upstream },
              contextTokens: 65_536,
              maxOutputTokens: 8_192,
            });
          }
        });
        await store.setAlias(upstream, name);
      }
    },
  };
  return store;
}

export type ModelStore = ReturnType<typeof modelStore>;
