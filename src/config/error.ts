/** A config problem, already phrased for people: file, field and what was expected. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
