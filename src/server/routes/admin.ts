import type { Context, Hono } from "hono";
import type { Gateway, GatewayEvent } from "../../gateway/index.js";
import { dayOf } from "../../gateway/periods.js";
import type { AppEnv } from "../app.js";

/** `/aigw/*`: health (open), and the admin views: status, history, events, metrics. */
export function adminRoutes(
  app: Hono<AppEnv>,
  gateway: Gateway,
  opts: { authorize: (c: Context<AppEnv>) => boolean },
): void {
  // On a node server the fast path answers it first (same body), without loading the node adapter.
  app.get("/aigw/health", (c) => c.json({ ok: true }));

  app.use("/aigw/*", async function adminAuth(c, next) {
    if (c.req.path === "/aigw/health") return next();
    if (!opts.authorize(c)) {
      return c.json(
        {
          error: {
            message:
              "admin token required: Authorization: Bearer <admin_token from run.json in the aigw home>",
            type: "authentication_error",
            code: "admin_token_required",
          },
        },
        401,
      );
    }
    return next();
  });

  app.get("/aigw/status", (c) => c.json(status(gateway)));

  app.get("/aigw/history", (c) => {
    const limit = Number(c.req.query("limit") ?? DEFAULT_HISTORY);
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_HISTORY) {
      return c.json(
        {
          error: {
            message: `limit must be a whole number from 0 to ${MAX_HISTORY}`,
            type: "invalid_request_error",
            code: "invalid_limit",
          },
        },
        400,
      );
    }
    const errors = c.req.query("errors");
    return c.json(
      history(gateway, {
        limit,
        client: c.req.query("client") || undefined,
        model: c.req.query("model") || undefined,
        errors: errors === "1" || errors === "true",
      }),
    );
  });

  app.get("/aigw/metrics", async (c) => {
    const { contentType, body } = await gateway.metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });

  app.get("/aigw/events", (c) => {
    const encoder = new TextEncoder();
    let unsubscribe = () => {};
    let heartbeat: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: GatewayEvent) => {
          controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
        };
        controller.enqueue(encoder.encode(`: aigw events\n\n`));
        unsubscribe = gateway.events.subscribe(send);
        heartbeat = setInterval(() => controller.enqueue(encoder.encode(": ping\n\n")), 15_000);
        heartbeat.unref();
      },
      cancel() {
        unsubscribe();
        clearInterval(heartbeat);
      },
    });
    c.req.raw.signal.addEventListener("abort", () => {
      unsubscribe();
      clearInterval(heartbeat);
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  });
}

const DEFAULT_HISTORY = 10;
const MAX_HISTORY = 1000;

/**
 * What live views open with: the latest finished requests (most recent first) and today's spend
 * per model and client, in the budgets' time zone, both from the usage log.
 */
export function history(gateway: Gateway, filter: Parameters<Gateway["usage"]["latest"]>[0]) {
  const { timezone } = gateway.budgets.status();
  const day = dayOf(Date.now(), timezone);
  return {
    rows: gateway.usage.latest(filter),
    today: {
      day: day.key,
      timezone,
      since: day.start,
      spend: gateway.usage.spendByModelAndClient(day.start),
    },
  };
}

export function status(gateway: Gateway) {
  return {
    started_at: gateway.startedAt,
    ...(gateway.shared() ? { shared: gateway.shared() } : {}),
    providers: [...gateway.providers.values()].map((p) => ({
      name: p.name,
      type: p.type,
      base_url: p.baseUrl,
      routes: p.routes,
    })),
    // The same list `GET /v1/models` answers (aliases, groups, each provider's models).
    models: gateway.models.list(),
    keys: gateway.keys.status(),
    circuits: gateway.breaker.status(),
    limiters: gateway.limiters.status(),
    clients: gateway.clientLimits.status(),
    budgets: {
      ...gateway.budgets.status(),
      // Not the webhook URL: it may carry a token.
      limits: budgetLimits(gateway),
    },
  };
}

/** Budget caps keyed like `budgets.spent`: `daily:gateway`, `monthly:client:<name>`, ... */
function budgetLimits(gateway: Gateway): Record<string, number> {
  const limits: Record<string, number> = {};
  const { daily_usd, monthly_usd } = gateway.config.budgets;
  if (daily_usd) limits["daily:gateway"] = daily_usd;
  if (monthly_usd) limits["monthly:gateway"] = monthly_usd;
  for (const client of gateway.clients.all()) {
    if (client.revoked) continue;
    if (client.daily_budget_usd) limits[`daily:client:${client.name}`] = client.daily_budget_usd;
    if (client.monthly_budget_usd) limits[`monthly:client:${client.name}`] = client.monthly_budget_usd;
  }
  return limits;
}
