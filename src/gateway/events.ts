import type { UsageRecord } from "../store/usage-log.js";
import type { BudgetWarning } from "./budgets.js";

/** What `/aigw/events` streams: a request starting, finishing (its usage row), a limiter change, a budget warning. */
export type GatewayEvent =
  | {
      type: "start";
      id: string;
      started_at: number;
      client: string | null;
      route: string;
      model: string | null;
      stream: boolean;
    }
  | { type: "request"; record: UsageRecord }
  | {
      type: "limiter";
      provider: string;
      key_id: string | null;
      state: string;
      detail: Record<string, unknown>;
    }
  | ({ type: "budget" } & BudgetWarning);

export type Listener = (event: GatewayEvent) => void;

/** In-process fan-out of gateway events; costs nothing while nobody listens. */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GatewayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken subscriber must never break a request.
      }
    }
  }
}
