// Preloaded (`node --import bench/hook.mjs`) into every server the benchmark measures, aigw and the
// yardsticks alike: answers IPC probes with the process's own CPU time (µs, exact, unlike /proc ticks),
// memory and event-loop delay since the last reset. Nothing here runs unless the bench spawns it.
import { monitorEventLoopDelay } from "node:perf_hooks";

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const ms = (ns) => ns / 1e6;
if (process.send) {
  process.channel?.unref(); // the probe channel must not keep a stopping server alive
  process.on("message", (msg) => {
    if (msg?.probe !== "aigw-bench") return;
    const cpu = process.cpuUsage();
    process.send({
      probe: "aigw-bench",
      id: msg.id,
      cpuUs: cpu.user + cpu.system,
      systemUs: cpu.system,
      rss: process.memoryUsage.rss(),
      loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    });
    if (msg.reset) loop.reset();
  });
}
