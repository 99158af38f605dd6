/** Whether `name` matches `pattern`: exact, or with `*` matching anything (`openai/*`, `*-mini`). */
export function globMatch(pattern: string, name: string): boolean {
  if (!pattern.includes("*")) return pattern === name;
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(name);
}
