// Jest runs the TypeScript sources through SWC (no type-checking: `npm run typecheck` does that).
// Sources are ES modules for Node's own type stripping; SWC turns them into CommonJS for Jest, so
// modules that Jest loads must not use `import.meta` or top-level await. @platformatic/kafka is
// ESM-only, which Jest loads only with NODE_OPTIONS=--experimental-vm-modules (see package.json).
export default {
  testEnvironment: "node",
  testMatch: ["<rootDir>/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/.tools/", "/.run/", "/dist/"],
  // .run/sources holds exported trees of older commits (a catalog version's source ref).
  modulePathIgnorePatterns: ["<rootDir>/.run/"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2023" },
        module: { type: "commonjs" },
      },
    ],
  },
  // Real Redis, PostgreSQL and Kafka, started once per run (test/servers/); tests read their
  // addresses from TEST_REDIS_URL, TEST_DATABASE_URL and TEST_KAFKA_BROKERS.
  globalSetup: "<rootDir>/test/servers/globalSetup.ts",
  globalTeardown: "<rootDir>/test/servers/globalTeardown.ts",
  reporters: ["default", "<rootDir>/test/summaryReporter.cjs"],
  testTimeout: 60000,
};
