/** A stack setting is missing or wrong; each problem names its `platform:*` key. */
export class StackConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "StackConfigError";
  }
}
