import { Command } from "commander";
import { keysContext, storedKey } from "./context.js";

/** `keys rm|disable|enable <id>`: one change to one stored key. */
function keyChange(
  name: string,
  description: string,
  apply: (ctx: Awaited<ReturnType<typeof keysContext>>, id: string) => string,
) {
  return new Command(name)
    .description(description)
    .argument("<id>", "key id from `aigw keys list`")
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = await keysContext(command);
      try {
        storedKey(ctx, id);
        process.stdout.write(`${apply(ctx, id)}\n`);
      } finally {
        await ctx.close();
      }
    });
}

export const rmCommand = keyChange("rm", "delete a stored key", (ctx, id) => {
  ctx.store.remove(id);
  return `removed ${id}`;
});

export const disableCommand = keyChange(
  "disable",
  "stop using a stored key (kept, can be enabled again)",
  (ctx, id) => {
    ctx.store.setDisabled(id, true);
    return `disabled ${id}`;
  },
);

export const enableCommand = keyChange("enable", "use a disabled or invalid key again", (ctx, id) => {
  ctx.store.setDisabled(id, false);
  return `enabled ${id}`;
});
