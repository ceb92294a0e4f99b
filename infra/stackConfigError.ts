import * as pulumi from "@pulumi/pulumi";

/**
 * A stack setting is missing or wrong; each problem names its `platform:*` key. A RunError, so
 * that the CLI prints the message alone, without the program's stack trace.
 */
export class StackConfigError extends pulumi.RunError {
  constructor(problems: string[]) {
    super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "StackConfigError";
  }
}
