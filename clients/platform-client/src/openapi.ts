// Generated from the platform's OpenAPI document by scripts/client/generate.ts: do not edit.
export interface paths {
  "/v1/auth/whoami": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The principal the caller's key stands for: user, plan and scopes */
    get: operations["whoami"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/auth/keys": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's API keys (an admin may name another user) */
    get: operations["listKeys"];
    put?: never;
    /** Make an API key, shown once in the answer */
    post: operations["createKey"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/auth/keys/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke a key, and the keys it made */
    delete: operations["revokeKey"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/users/plans": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every plan, with its limits and models */
    get: operations["listPlans"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/users/plans/{name}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One plan */
    get: operations["getPlan"];
    /** Create or change a plan (admins) */
    put: operations["putPlan"];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/users/me": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's own user record */
    get: operations["getMe"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/users": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every user, a page at a time (admins) */
    get: operations["listUsers"];
    put?: never;
    /** Create a user (admins) */
    post: operations["createUser"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/users/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A user's record (the caller's own, or any for an admin) */
    get: operations["getUser"];
    put?: never;
    post?: never;
    /** Delete a user (admins) */
    delete: operations["deleteUser"];
    options?: never;
    head?: never;
    /** Change a user's email, name or plan (admins) */
    patch: operations["updateUser"];
    trace?: never;
  };
  "/v1/quota": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's plan, today's requests and tokens, and what is left */
    get: operations["quotaStatus"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/billing/usage": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's usage and its price for a month */
    get: operations["billingUsage"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/billing/users/{userId}/usage": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Any user's usage and its price for a month (admins) */
    get: operations["billingUserUsage"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/billing/prices": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The price of each model's tokens */
    get: operations["billingPrices"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/billing/poison": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Usage events billing could not read (admins) */
    get: operations["billingPoison"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/orders": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's orders, newest first, a page at a time */
    get: operations["listOrders"];
    put?: never;
    /** Place an order; a repeat under the same Idempotency-Key answers the first one */
    post: operations["createOrder"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/orders/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's orders */
    get: operations["getOrder"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/models": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The models the caller may complete with (OpenAI's models API) */
    get: operations["listModels"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/models/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One model the caller may use */
    get: operations["getModel"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/chat/completions": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** A chat completion (OpenAI's and DeepSeek's API); `stream: true` answers server-sent events */
    post: operations["createChatCompletion"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/articles": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's articles, a page at a time */
    get: operations["listArticles"];
    put?: never;
    /** Write an article; a repeat under the same Idempotency-Key answers the first one */
    post: operations["createArticle"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/articles/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's articles, with its version as the ETag */
    get: operations["getArticle"];
    put?: never;
    post?: never;
    /** Delete an article (at the version of If-Match, when sent) */
    delete: operations["deleteArticle"];
    options?: never;
    head?: never;
    /** Change an article, if it is still at the version of If-Match */
    patch: operations["updateArticle"];
    trace?: never;
  };
  "/v1/monitoring": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Health and figures of every replica of every tier and service (admin token) */
    get: operations["monitoringOverview"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/monitoring/status": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The same, as a status page for a browser (admin token) */
    get: operations["monitoringStatusPage"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/mcp": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** The platform as an MCP server (Streamable HTTP, stateless): every operation of this API as a tool */
    post: operations["mcp"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflows": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's workflows, a page at a time */
    get: operations["listWorkflows"];
    put?: never;
    /** Store a workflow definition: steps that call operations, wait or assert */
    post: operations["createWorkflow"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflows/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's workflows */
    get: operations["getWorkflow"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflows/{id}/runs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Start a run of a workflow with its input; its steps act as the caller */
    post: operations["startWorkflowRun"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflow-runs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's workflow runs, newest first, optionally of one workflow */
    get: operations["listWorkflowRuns"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflow-runs/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One run with each step's state, attempts, output and timing */
    get: operations["getWorkflowRun"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/workflow-runs/{id}/cancel": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Stop a running run after its current step and compensate what it did */
    post: operations["cancelWorkflowRun"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/schedules": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's schedules, a page at a time */
    get: operations["listSchedules"];
    put?: never;
    /** Start a workflow's runs on a cron expression in a time zone */
    post: operations["createSchedule"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/schedules/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's schedules, with how often it fired */
    get: operations["getSchedule"];
    put?: never;
    post?: never;
    /** Stop a schedule; runs it started go on */
    delete: operations["deleteSchedule"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/analytics/requests": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Requests through the business tier over a time window (admins) */
    get: operations["analyticsRequests"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/analytics/usage": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Chat usage over a time window (admins) */
    get: operations["analyticsUsage"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/analytics/orders": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Orders over a time window (admins) */
    get: operations["analyticsOrders"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/analytics/poison": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Events analytics could not read (admins) */
    get: operations["analyticsPoison"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/files": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's files, a page at a time */
    get: operations["listFiles"];
    put?: never;
    /** Upload a text corpus (OpenAI's files API), as multipart/form-data */
    post: operations["uploadFile"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/files/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's files */
    get: operations["getFile"];
    put?: never;
    post?: never;
    /** Delete one of the caller's files */
    delete: operations["deleteFile"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/files/{id}/content": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A file's bytes */
    get: operations["getFileContent"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/videos": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's videos, a page at a time */
    get: operations["listVideos"];
    put?: never;
    /** Queue a video made from a prompt: storyboard, scenes rendered in parallel, joined */
    post: operations["createVideo"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/videos/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's videos, with its status, progress and storyboard */
    get: operations["getVideo"];
    put?: never;
    post?: never;
    /** Delete one of the caller's videos and its content */
    delete: operations["deleteVideo"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/videos/{id}/content": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A succeeded video's MP4 (H.264, AAC when voiced), with HTTP Range support */
    get: operations["getVideoContent"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/training/jobs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The caller's training jobs, a page at a time */
    get: operations["listTrainingJobs"];
    put?: never;
    /** Queue a training job on an uploaded or inline corpus */
    post: operations["createTrainingJob"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/training/jobs/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One of the caller's training jobs, with its state */
    get: operations["getTrainingJob"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/training/jobs/{id}/evaluations": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Score a succeeded job's model on held-out text (cross-entropy, lower is better) */
    post: operations["evaluateTrainingJob"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/v1/training/jobs/{id}/register": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Register a succeeded job's model as a new version (a job made with register: false) */
    post: operations["registerTrainingJob"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @description What went wrong, in OpenAI's error shape */
    Error: {
      error: {
        message: string;
        /** @enum {string} */
        type:
          | "invalid_request_error"
          | "authentication_error"
          | "permission_error"
          | "not_found_error"
          | "rate_limit_error"
          | "api_error"
          | "service_unavailable";
        code: string;
        param: string | null;
        request_id?: string;
      };
    };
    /** @description An API key's record: never the key, only its prefix */
    ApiKey: {
      id: string;
      userId: string;
      name: string;
      /** @description The key's first characters, to tell keys apart */
      prefix: string;
      plan: string;
      scopes: "admin"[];
      /** Format: date-time */
      createdAt: string;
      revokedAt: string | null;
    };
    /** @description A key just made, shown this once */
    NewApiKey: {
      id: string;
      userId: string;
      name: string;
      /** @description The key's first characters, to tell keys apart */
      prefix: string;
      plan: string;
      scopes: "admin"[];
      /** Format: date-time */
      createdAt: string;
      revokedAt: string | null;
      /** @description The key itself, in this answer only */
      key: string;
    };
    /** @description A plan: the requests and tokens a day it allows, its models */
    Plan: {
      /** @constant */
      object: "plan";
      name: string;
      requestsPerDay: number;
      tokensPerDay: number;
      /** @description Model ids a key on this plan may use; empty means every model */
      models: string[];
    };
    /** @description A user's record */
    User: {
      /** @constant */
      object: "user";
      id: string;
      /** Format: email */
      email: string;
      name: string;
      plan: string;
      /** Format: date-time */
      createdAt: string;
    };
    /** @description Today's requests and tokens: the limits, used, what is left */
    Quota: {
      requests: {
        limit: number;
        used: number;
        remaining: number;
        /** Format: date-time */
        resetAt: string;
      };
      tokens: {
        limit: number;
        used: number;
        remaining: number;
        /** Format: date-time */
        resetAt: string;
      };
    };
    /** @description A user's usage of a day or month and its price */
    UsageReport: {
      /** @constant */
      object: "billing.usage";
      userId: string;
      period: string;
      /** @enum {string} */
      granularity: "day" | "month";
      /** @constant */
      currency: "USD";
      models: {
        requests: number;
        cachedRequests: number;
        promptTokens: number;
        cachedPromptTokens: number;
        completionTokens: number;
        totalTokens: number;
        /** @description US dollars, exact to the nano-dollar, as a decimal string */
        cost: string;
        model: string;
      }[];
      total: {
        requests: number;
        cachedRequests: number;
        promptTokens: number;
        cachedPromptTokens: number;
        completionTokens: number;
        totalTokens: number;
        /** @description US dollars, exact to the nano-dollar, as a decimal string */
        cost: string;
      };
    };
    /** @description A model's prices, in US dollars */
    Price: {
      /** @description Per million prompt tokens answered from a cache */
      inputCacheHit: number;
      /** @description Per million prompt tokens otherwise */
      inputCacheMiss: number;
      /** @description Per million completion tokens */
      output: number;
    };
    /** @description An event a consumer could not apply, kept aside */
    PoisonedEvent: {
      topic: string;
      /** @description `partition:offset` (Kafka) or a line's byte offset */
      position: string;
      eventId: string | null;
      reason: string;
      /** @description The record as read (its first 100 000 characters) */
      payload: string;
      /** Format: date-time */
      poisonedAt: string;
    };
    /** @description An order, as its owner sees it */
    Order: {
      id: string;
      /** @constant */
      object: "order";
      userId: string;
      item: string;
      quantity: number;
      status: string;
      /** Format: date-time */
      createdAt: string;
    };
    /** @description A model the caller may complete with */
    Model: {
      /** @description An alias, or a version's `name:version` */
      id: string;
      /** @constant */
      object: "model";
      created: number;
      /** @description `platform` (built in, trained) or `upstream` */
      owned_by: string;
    };
    /** @description A chat completion, answered whole */
    ChatCompletion: {
      id: string;
      /** @constant */
      object: "chat.completion";
      created: number;
      /** @description The model as the request named it */
      model: string;
      system_fingerprint: string;
      choices: {
        /** @constant */
        index: 0;
        message: {
          /** @constant */
          role: "assistant";
          content: string | null;
          tool_calls?: {
            id: string;
            /** @constant */
            type: "function";
            function: {
              name: string;
              arguments: string;
            };
          }[];
        };
        logprobs: null;
        /**
         * @description `aborted`: the model's answer ended without a reason (its generation broke off)
         * @enum {string}
         */
        finish_reason: "stop" | "length" | "tool_calls" | "aborted";
      }[];
      usage: {
        prompt_tokens: number;
        completion_tokens: number;
        total_tokens: number;
        /** @description DeepSeek's split of the prompt: the tokens answered from the cache */
        prompt_cache_hit_tokens: number;
        /** @description And the rest */
        prompt_cache_miss_tokens: number;
      };
    };
    /** @description An article, as its owner sees it */
    Article: {
      id: string;
      /** @constant */
      object: "article";
      userId: string;
      title: string;
      body: string;
      tags: string[];
      /** @enum {string} */
      status: "draft" | "published";
      /** @description Starts at 1 and grows by one on each update; the ETag is this number */
      version: number;
      /** Format: date-time */
      createdAt: string;
      /** Format: date-time */
      updatedAt: string;
    };
    /** @description Health and figures of every replica of every tier and service */
    MonitoringOverview: {
      /** @constant */
      object: "monitoring.overview";
      /**
       * Format: date-time
       * @description When the last round finished; absent before the first
       */
      at?: string;
      intervalMs: number;
      rounds: number;
      groups: {
        /** @enum {string} */
        kind: "router" | "gateway" | "service";
        group: string;
        domain?: string;
        version?: string;
        replicas: {
          id: string;
          url: string;
          /** @description `/healthz` answered 200: the process is alive */
          alive: boolean;
          /** @description `/readyz` answered 200: it takes traffic, its dependencies reachable */
          ready: boolean;
          /** @description The readiness checks it reported (`{"postgres": true, ...}`) */
          checks: {
            [key: string]: boolean;
          };
          error?: string;
          /** @description Requests answered since the previous round (health checks and scrapes left out) */
          requests?: number;
          /** @description The same per second */
          requestRate?: number;
          /** @description The part of `requestRate` with a 5xx */
          errorRate?: number;
          /** @description The p95 answer time since the previous round, in ms: the upper bound of the histogram bucket it falls in (the last bound, 10 000, means 10 s or more); unset when no request was answered */
          latencyP95Ms?: number;
          requestsTotal?: number;
          uptimeSeconds?: number;
          residentMemoryBytes?: number;
          /** @description A gateway's circuit breakers, by upstream (a service version) */
          breakers?: {
            [key: string]: "closed" | "open" | "half-open" | "isolated";
          };
          /** @description A gateway's upstream replicas: healthy and known, by upstream */
          upstreams?: {
            [key: string]: {
              healthy: number;
              total: number;
            };
          };
          /** @description A gateway's dead-letter queue: writes parked and not yet delivered */
          dlqDepth?: number;
          /** @description The workflow engine's figures, from one of its replicas */
          workflows?: {
            /** @description Runs stored, by status (every replica reads the same table: the highest wins) */
            runs: {
              [key: string]: number;
            };
            schedules: number;
            /** @description Steps finished by any replica since it started, by outcome */
            steps: {
              [key: string]: number;
            };
          };
          /** @description MCP messages this replica of the bridge received */
          mcpMessages?: number;
          /** @description A render replica's view of the queue */
          render?: {
            scenesWaiting: number;
            progress: {
              [key: string]: number;
            };
            jobs: {
              [key: string]: number;
            };
          };
          /** @description A video replica's count of videos by status */
          videos?: {
            [key: string]: number;
          };
        }[];
        /** @description Set when the group's replicas could not be listed (a failed DNS lookup) */
        error?: string;
      }[];
      totals: {
        groups: number;
        replicas: number;
        ready: number;
        requestRate: number;
      };
      breakers: {
        gateway: string;
        replica: string;
        upstream: string;
        /** @enum {string} */
        state: "closed" | "open" | "half-open" | "isolated";
      }[];
      dlq: {
        gateway: string;
        replica: string;
        depth: number;
      }[];
      automation: {
        workflows: {
          /** @description Runs stored, by status (every replica reads the same table: the highest wins) */
          runs: {
            [key: string]: number;
          };
          schedules: number;
          /** @description Steps finished by any replica since it started, by outcome */
          steps: {
            [key: string]: number;
          };
        };
        mcpMessages: number;
      };
      media: {
        scenesWaiting: number;
        /** @description Renders in the making, by video id, 0-1 */
        renders: {
          id: string;
          progress: number;
        }[];
        /** @description Scene renders and joins finished since each replica started, by `kind:outcome` */
        jobs: {
          [key: string]: number;
        };
        videos: {
          [key: string]: number;
        };
      };
    };
    /** @description A stored workflow definition */
    Workflow: {
      id: string;
      /** @constant */
      object: "workflow";
      name: string;
      description: string | null;
      inputs: {
        [key: string]: {
          /** @enum {string} */
          type: "string" | "number" | "boolean" | "object" | "array";
          default?: unknown;
          description?: string;
        };
      };
      steps: {
        name: string;
        if?: {
          value: unknown;
          /** @enum {string} */
          op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
          than?: unknown;
        };
        call?: string;
        args?: {
          query?: {
            [key: string]: unknown;
          };
          headers?: {
            [key: string]: string;
          };
          body?: unknown;
        } & {
          [key: string]: unknown;
        };
        wait_seconds?: number;
        assert?: {
          value: unknown;
          /** @enum {string} */
          op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
          than?: unknown;
        }[];
        message?: string;
        until?: {
          value: unknown;
          /** @enum {string} */
          op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
          than?: unknown;
        }[];
        poll_seconds: number;
        poll_attempts: number;
        retry?: {
          attempts: number;
          backoff_seconds: number;
        };
        timeout_seconds: number;
        compensate?: {
          call: string;
          args: {
            query?: {
              [key: string]: unknown;
            };
            headers?: {
              [key: string]: string;
            };
            body?: unknown;
          } & {
            [key: string]: unknown;
          };
        };
      }[];
      /** @description Milliseconds since the epoch */
      created_at: number;
    };
    /** @description A workflow run, with each step's state */
    WorkflowRun: {
      id: string;
      /** @constant */
      object: "workflow.run";
      workflow_id: string;
      /** @enum {string} */
      status: "running" | "compensating" | "succeeded" | "failed" | "cancelled";
      trigger:
        | {
            /** @constant */
            kind: "api";
          }
        | {
            /** @constant */
            kind: "schedule";
            schedule_id: string;
          };
      input: {
        [key: string]: unknown;
      };
      steps: {
        name: string;
        /** @enum {string} */
        status:
          | "pending"
          | "running"
          | "waiting"
          | "succeeded"
          | "skipped"
          | "failed"
          | "compensated"
          | "compensation_failed";
        attempts: number;
        /** @description The step's answer (null until it has one) */
        output: unknown;
        error: string | null;
        started_at: number | null;
        finished_at: number | null;
        duration_ms: number | null;
      }[];
      error: string | null;
      /** @description Milliseconds since the epoch */
      created_at: number;
      finished_at: number | null;
    };
    /** @description A schedule and how often it fired */
    WorkflowSchedule: {
      id: string;
      /** @constant */
      object: "workflow.schedule";
      workflow_id: string;
      cron: string;
      timezone: string;
      /** @enum {string} */
      missed: "skip" | "once";
      input: {
        [key: string]: unknown;
      };
      fired: number;
      last_fired_at: number | null;
      /** @description Milliseconds since the epoch */
      created_at: number;
    };
    /** @description Requests through the business tier in a window */
    RequestsReport: {
      /** @constant */
      object: "analytics.requests";
      /** @description The window counted, `to` excluded */
      window: {
        /** Format: date-time */
        from: string;
        /** Format: date-time */
        to: string;
      };
      count: number;
      perSecond: number;
      errors: number;
      errorRate: number;
      clientErrors: number;
      clientErrorRate: number;
      /** @description Nearest-rank percentiles in milliseconds; null without requests */
      latencyMs: {
        p50: number | null;
        p95: number | null;
      };
      /** @description Requests by the gateway's decision (cache, rate limit...) */
      decisions: {
        [key: string]: number;
      };
      topRoutes: {
        route: string;
        count: number;
        errors: number;
        errorRate: number;
        /** @description Nearest-rank percentiles in milliseconds; null without requests */
        latencyMs: {
          p50: number | null;
          p95: number | null;
        };
      }[];
    };
    /** @description Chat completions in a window, per model */
    ChatUsageReport: {
      /** @constant */
      object: "analytics.usage";
      /** @description The window counted, `to` excluded */
      window: {
        /** Format: date-time */
        from: string;
        /** Format: date-time */
        to: string;
      };
      models: {
        model: string;
        requests: number;
        cachedRequests: number;
        promptTokens: number;
        completionTokens: number;
        totalTokens: number;
        users: number;
      }[];
    };
    /** @description Orders created in a window */
    OrdersReport: {
      /** @constant */
      object: "analytics.orders";
      /** @description The window counted, `to` excluded */
      window: {
        /** Format: date-time */
        from: string;
        /** Format: date-time */
        to: string;
      };
      count: number;
      quantity: number;
      customers: number;
    };
    /** @description A stored file, as the OpenAI files API shapes it */
    File: {
      id: string;
      /** @constant */
      object: "file";
      bytes: number;
      created_at: number;
      filename: string;
      /** @enum {string} */
      purpose: "fine-tune" | "vision" | "model";
      /** @description Hex SHA-256 of the content; downloads are checked against it */
      sha256: string;
      content_type: string;
    };
    /** @description A video and how far its making has come */
    Video: {
      id: string;
      /** @constant */
      object: "video";
      /** @enum {string} */
      status: "queued" | "planning" | "rendering" | "encoding" | "succeeded" | "failed";
      progress: number;
      prompt: string;
      duration_seconds: number;
      /** @enum {string} */
      resolution: "640x360" | "1280x720";
      voice: boolean;
      image_file_ids: string[];
      title: string | null;
      scenes: {
        index: number;
        duration_seconds: number;
        narration: string;
        visual:
          | {
              /** @constant */
              kind: "title";
              title: string;
              subtitle?: string;
            }
          | {
              /** @constant */
              kind: "caption";
              caption: string;
            }
          | {
              /** @constant */
              kind: "chart";
              title: string;
              bars: {
                label: string;
                value: number;
              }[];
            }
          | {
              /** @constant */
              kind: "image";
              file_id: string;
              caption?: string;
            };
        style: {
          background: string;
          foreground: string;
          accent: string;
        };
      }[];
      /** @description The orchestrator's choices, and the play statistics they came from */
      choices: {
        scene_seconds: number;
        reason: string;
      } | null;
      bytes: number | null;
      error: {
        code: string;
        message: string;
      } | null;
      created_at: number;
      finished_at: number | null;
    };
    /** @description A training job and its state */
    TrainingJob: {
      id: string;
      /** @constant */
      object: "training.job";
      /** @enum {string} */
      status: "queued" | "running" | "succeeded" | "failed";
      suffix: string;
      /** @description The registered model version (`ft-<suffix>:<n>`) once registered */
      model: string | null;
      corpus:
        | {
            file_id: string;
          }
        | {
            inline_bytes: number;
          };
      hyperparameters: {
        min_count: number;
        max_output_tokens: number;
        context_tokens: number;
      };
      /** @description Whether the job registers its model itself (else `POST .../register` does) */
      register: boolean;
      /** @description The trained model's file in storage (purpose `model`), owned by the job's owner */
      result_file: string | null;
      trained: {
        sentences: number;
        vocabulary: number;
      } | null;
      error: {
        code: string;
        message: string;
      } | null;
      attempts: number;
      created_at: number;
      started_at: number | null;
      finished_at: number | null;
    };
    /** @description A trained model's score on held-out text */
    TrainingEvaluation: {
      /** @constant */
      object: "training.evaluation";
      job: string;
      /** @description The registered version, if the job's model is registered */
      model: string | null;
      tokens: number;
      /** @description Mean bits per token */
      cross_entropy_bits: number;
      perplexity: number;
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  whoami: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            principal: {
              userId: string;
              keyId: string;
              plan: string;
              scopes?: "admin"[];
              models?: string[];
            };
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listKeys: {
    parameters: {
      query?: {
        userId?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["ApiKey"][];
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createKey: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          /** @default unnamed */
          name?: string;
          userId?: string;
          scopes?: "admin"[];
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["NewApiKey"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  revokeKey: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            id: string;
            /** @constant */
            revoked: true;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listPlans: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Plan"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getPlan: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Plan"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  putPlan: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          requestsPerDay: number;
          tokensPerDay: number;
          /** @default [] */
          models?: string[];
        };
      };
    };
    responses: {
      /** @description The plan as stored (201 when it is new) */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Plan"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getMe: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["User"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listUsers: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
        plan?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["User"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createUser: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          id?: string;
          /** Format: email */
          email: string;
          name: string;
          /** @default free */
          plan?: string;
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["User"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getUser: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["User"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  deleteUser: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            id: string;
            /** @constant */
            object: "user";
            /** @constant */
            deleted: true;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  updateUser: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          /** Format: email */
          email?: string;
          name?: string;
          plan?: string;
        };
      };
    };
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["User"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  quotaStatus: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Quota"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  billingUsage: {
    parameters: {
      query?: {
        period?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["UsageReport"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  billingUserUsage: {
    parameters: {
      query?: {
        period?: string;
      };
      header?: never;
      path: {
        userId: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["UsageReport"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  billingPrices: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "billing.prices";
            /** @constant */
            currency: "USD";
            /** @constant */
            per: "1M tokens";
            models: {
              [key: string]: components["schemas"]["Price"];
            };
            default: components["schemas"]["Price"];
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  billingPoison: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["PoisonedEvent"][];
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listOrders: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Order"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createOrder: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          item: string;
          quantity: number;
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Order"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getOrder: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Order"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listModels: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Model"][];
            has_more: boolean;
            first_id: string | null;
            last_id: string | null;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getModel: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Model"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createChatCompletion: {
    parameters: {
      query?: never;
      header?: {
        "x-conversation-id"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          model: string;
          messages: {
            /** @enum {string} */
            role: "system" | "developer" | "user" | "assistant" | "tool";
            content:
              | (
                  | string
                  | {
                      /** @constant */
                      type: "text";
                      text: string;
                    }[]
                )
              | null;
            name?: string;
            tool_call_id?: string;
            tool_calls?: {
              id: string;
              /** @constant */
              type: "function";
              function: {
                name: string;
                arguments: string;
              };
            }[];
          }[];
          temperature?: number | null;
          top_p?: number | null;
          max_tokens?: number | null;
          max_completion_tokens?: number | null;
          stream?: boolean | null;
          stream_options?: {
            include_usage?: boolean;
          } | null;
          stop?: (string | string[]) | null;
          seed?: number | null;
          n?: number | null;
          frequency_penalty?: number | null;
          presence_penalty?: number | null;
          logprobs?: boolean | null;
          response_format?:
            | (
                | {
                    /** @constant */
                    type: "text";
                  }
                | {
                    /** @constant */
                    type: "json_object";
                  }
                | {
                    /** @constant */
                    type: "json_schema";
                    json_schema: {
                      name: string;
                      description?: string;
                      schema?: {
                        [key: string]: unknown;
                      };
                      strict?: boolean | null;
                    };
                  }
              )
            | null;
          tools?:
            | {
                /** @constant */
                type: "function";
                function: {
                  name: string;
                  description?: string;
                  parameters?: {
                    [key: string]: unknown;
                  };
                  strict?: boolean | null;
                };
              }[]
            | null;
          tool_choice?:
            | (
                | ("none" | "auto" | "required")
                | {
                    /** @constant */
                    type: "function";
                    function: {
                      name: string;
                    };
                  }
              )
            | null;
          parallel_tool_calls?: boolean | null;
          user?: string;
        };
      };
    };
    responses: {
      /** @description The completion whole, or with `stream: true` its chunks as server-sent events */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ChatCompletion"];
          "text/event-stream": string;
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listArticles: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Article"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createArticle: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          title: string;
          body: string;
          /** @default [] */
          tags?: string[];
          /**
           * @default draft
           * @enum {string}
           */
          status?: "draft" | "published";
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Article"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getArticle: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Article"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  deleteArticle: {
    parameters: {
      query?: never;
      header?: {
        "If-Match"?: string;
      };
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  updateArticle: {
    parameters: {
      query?: never;
      header: {
        "If-Match": string;
      };
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          title?: string;
          body?: string;
          tags?: string[];
          /** @enum {string} */
          status?: "draft" | "published";
        };
      };
    };
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Article"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  monitoringOverview: {
    parameters: {
      query?: never;
      header: {
        "x-admin-token": string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["MonitoringOverview"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  monitoringStatusPage: {
    parameters: {
      query?: never;
      header: {
        "x-admin-token": string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/html": string;
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  mcp: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          /** @constant */
          jsonrpc: "2.0";
        } & {
          [key: string]: unknown;
        };
      };
    };
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            [key: string]: unknown;
          };
          "text/event-stream": string;
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listWorkflows: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Workflow"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createWorkflow: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          name: string;
          description?: string;
          /** @default {} */
          inputs?: {
            [key: string]: {
              /** @enum {string} */
              type: "string" | "number" | "boolean" | "object" | "array";
              default?: unknown;
              description?: string;
            };
          };
          steps: {
            name: string;
            if?: {
              value: unknown;
              /** @enum {string} */
              op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
              than?: unknown;
            };
            call?: string;
            args?: {
              query?: {
                [key: string]: unknown;
              };
              headers?: {
                [key: string]: string;
              };
              body?: unknown;
            } & {
              [key: string]: unknown;
            };
            wait_seconds?: number;
            assert?: {
              value: unknown;
              /** @enum {string} */
              op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
              than?: unknown;
            }[];
            message?: string;
            until?: {
              value: unknown;
              /** @enum {string} */
              op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "exists" | "missing";
              than?: unknown;
            }[];
            /** @default 5 */
            poll_seconds?: number;
            /** @default 60 */
            poll_attempts?: number;
            retry?: {
              /** @default 3 */
              attempts?: number;
              /** @default 2 */
              backoff_seconds?: number;
            };
            /** @default 60 */
            timeout_seconds?: number;
            compensate?: {
              call: string;
              /** @default {} */
              args?: {
                query?: {
                  [key: string]: unknown;
                };
                headers?: {
                  [key: string]: string;
                };
                body?: unknown;
              } & {
                [key: string]: unknown;
              };
            };
          }[];
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Workflow"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getWorkflow: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Workflow"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  startWorkflowRun: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          /** @default {} */
          input?: {
            [key: string]: unknown;
          };
        };
      };
    };
    responses: {
      /** @description Done */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["WorkflowRun"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listWorkflowRuns: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
        workflow_id?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["WorkflowRun"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getWorkflowRun: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["WorkflowRun"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  cancelWorkflowRun: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["WorkflowRun"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listSchedules: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["WorkflowSchedule"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createSchedule: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          workflow_id: string;
          cron: string;
          /** @default UTC */
          timezone?: string;
          /** @default {} */
          input?: {
            [key: string]: unknown;
          };
          /**
           * @default skip
           * @enum {string}
           */
          missed?: "skip" | "once";
        };
      };
    };
    responses: {
      /** @description Done */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["WorkflowSchedule"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getSchedule: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["WorkflowSchedule"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  deleteSchedule: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  analyticsRequests: {
    parameters: {
      query?: {
        from?: string;
        to?: string;
        top?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["RequestsReport"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  analyticsUsage: {
    parameters: {
      query?: {
        from?: string;
        to?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ChatUsageReport"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  analyticsOrders: {
    parameters: {
      query?: {
        from?: string;
        to?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["OrdersReport"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  analyticsPoison: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["PoisonedEvent"][];
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listFiles: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
        purpose?: "fine-tune" | "vision" | "model";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["File"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  uploadFile: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "multipart/form-data": {
          /**
           * Format: binary
           * @description a text/plain file
           */
          file: string;
          /** @enum {string} */
          purpose: "fine-tune" | "vision";
        };
      };
    };
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["File"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getFile: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["File"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  deleteFile: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            id: string;
            /** @constant */
            object: "file";
            /** @constant */
            deleted: true;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getFileContent: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/octet-stream": string;
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listVideos: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["Video"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createVideo: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          prompt: string;
          duration_seconds: number;
          /** @enum {string} */
          resolution: "640x360" | "1280x720";
          /** @default false */
          voice?: boolean;
          /** @default [] */
          image_file_ids?: string[];
        };
      };
    };
    responses: {
      /** @description Done */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Video"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getVideo: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Video"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  deleteVideo: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getVideoContent: {
    parameters: {
      query?: never;
      header?: {
        Range?: string;
      };
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The whole file, or 206 with the range asked */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "video/mp4": string;
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  listTrainingJobs: {
    parameters: {
      query?: {
        limit?: number;
        after?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            /** @constant */
            object: "list";
            data: components["schemas"]["TrainingJob"][];
            has_more: boolean;
          };
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  createTrainingJob: {
    parameters: {
      query?: never;
      header?: {
        "Idempotency-Key"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          suffix: string;
          corpus:
            | {
                file_id: string;
              }
            | {
                text: string;
              };
          /** @default true */
          register?: boolean;
          /**
           * @default {
           *       "min_count": 1,
           *       "max_output_tokens": 256,
           *       "context_tokens": 4096
           *     }
           */
          hyperparameters?: {
            /** @default 1 */
            min_count?: number;
            /** @default 256 */
            max_output_tokens?: number;
            /** @default 4096 */
            context_tokens?: number;
          };
        };
      };
    };
    responses: {
      /** @description Done */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["TrainingJob"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  getTrainingJob: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["TrainingJob"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  evaluateTrainingJob: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        "application/json": {
          text: string;
        };
      };
    };
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["TrainingEvaluation"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
  registerTrainingJob: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["TrainingJob"];
        };
      };
      /** @description The request is malformed: the message names the field */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description No API key, or one that is not valid */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description Nothing of the caller's at this address */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description A rate limit or quota is reached: retry after `Retry-After` */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
      /** @description The service is unavailable: retry after `Retry-After` */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["Error"];
        };
      };
    };
  };
}

/** Operations that take an `Idempotency-Key`: the client sends one, so a retry cannot create twice. */
export const IDEMPOTENT_CREATES: readonly string[] = [
  "POST /v1/articles",
  "POST /v1/orders",
  "POST /v1/training/jobs",
  "POST /v1/videos",
  "POST /v1/workflows",
  "POST /v1/workflows/{id}/runs",
];
