import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "./net.js";

describe("isLoopbackHost", () => {
  it.each([
    ["localhost", true],
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["[::1]", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["192.168.1.2", false],
    ["api.openai.com", false],
    ["::ffff:10.0.0.1", false],
  ])("%s → %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
