// Jest runs the TypeScript sources through SWC (no type-checking: `npm run typecheck` does that).
// Sources are ES modules for Node's own type stripping; SWC turns them into CommonJS for Jest, so
// modules that Jest loads must not use `import.meta` or top-level await.
export default {
  testEnvironment: "node",
  testMatch: ["<rootDir>/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/.tools/", "/.run/"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2023" },
        module: { type: "commonjs" },
      },
    ],
  },
  testTimeout: 60000,
};
