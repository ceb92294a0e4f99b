import { z } from "zod";
import { loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { modelRoutes } from "./app.ts";
import { modelName } from "./contract.ts";
import { migrations, modelStore } from "./store.ts";

// MODEL_UPSTREAM_MODELS: the upstream endpoint's models (e.g. "deepseek-chat,deepseek-reasoner")
// to register, each under its own name as an alias; see docs/chat.md.
const { upstreamModels } = loadEnv(
  {
    upstreamModels: z
      .string()
      .default("")
      .transform((s) =>
        s
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean),
      )
      .pipe(z.array(modelName)),
  },
  { upstreamModels: "MODEL_UPSTREAM_MODELS" },
);

await runService({
  name: "model",
  migrations,
  routes: async (app, { db, logger }) => {
    const models = modelStore(db);
    await models.seed(upstreamModels);
    logger.info({ upstreamModels }, "model registry seeded");
    modelRoutes(app, models);
  },
});
