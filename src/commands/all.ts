import type { CommandLoaders } from "../program.js";

// Each command is loaded when it runs: `aigw stats` does not compile the gateway, the dashboard or the
// prompts of `init` (about 35 ms). Help, `--version` and unknown commands load them all, in this order.
export const allCommands: CommandLoaders = {
  start: async () => (await import("./start.js")).startCommand,
  status: async () => (await import("./status.js")).statusCommand,
  stop: async () => (await import("./stop.js")).stopCommand,
  keys: async () => (await import("./keys/index.js")).keysCommand,
  clients: async () => (await import("./clients/index.js")).clientsCommand,
  stats: async () => (await import("./stats.js")).statsCommand,
  cache: async () => (await import("./cache/index.js")).cacheCommand,
  tail: async () => (await import("./tail.js")).tailCommand,
  models: async () => (await import("./models.js")).modelsCommand,
  doctor: async () => (await import("./doctor/index.js")).doctorCommand,
  init: async () => (await import("./init.js")).initCommand,
  exec: async () => (await import("./exec.js")).execCommand,
  dashboard: async () => (await import("./dashboard.js")).dashboardCommand,
};
