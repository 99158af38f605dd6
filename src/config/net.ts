/** Whether a host name or address is this machine: `localhost`, `127.x.x.x`, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").replace(/^::ffff:/, "");
  return h === "localhost" || h === "::1" || h.startsWith("127.");
}
