/** Where the web console is served (routes.ts); the router sends it to the default domain's tier. */
export const CONSOLE_PATH = "/console";
