// swagger-ui-dist ships no types; this is the one module of it the docs routes load.
declare module "swagger-ui-dist/absolute-path.js" {
  /** The package's directory, where its built files are. */
  const absolutePath: () => string;
  export default absolutePath;
}
