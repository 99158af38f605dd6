/** The command the arguments name, when they name one of `commands` before any other option than --home. */
export function commandNamed(args: string[], commands: Record<string, unknown>): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--home") i++;
    else if (arg.startsWith("--home=")) continue;
    else return !arg.startsWith("-") && Object.hasOwn(commands, arg) ? arg : null;
  }
  return null;
}
