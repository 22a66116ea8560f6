// ResilientInformer: client-node's ListWatch, restarted with capped, jittered
// backoff whenever it stops on an error (it only recovers by itself from 410
// Gone and watch timeouts). start() resolves once the first list succeeded and
// the watch is open: the only "synced" signal.
import { ListWatch, Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { publishApiError, publishSync, publishWatchRestart } from "../observability/events.ts";

export interface InformerHandlers {
  upsert(raw: KubernetesObject): void;
  delete(raw: KubernetesObject): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface ResilientInformerOptions {
  /** For logs and metrics, e.g. "ingresses". */
  resource: string;
  kubeConfig: KubeConfig;
  /** The watch path, e.g. /apis/networking.k8s.io/v1/ingresses. */
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
  fieldSelector?: string;
  labelSelector?: string;
  handlers: InformerHandlers;
  logger: Logger;
  backoff?: Backoff;
  random?: () => number;
  /** Called on every restart after an error (for the watch-restart metric). */
  onRestart?: (resource: string, error: unknown) => void;
}

/** Full jitter: uniformly in [delay/2, delay], delay doubling per attempt up to the cap. */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return delay / 2 + random() * (delay / 2);
}

export class ResilientInformer {
  readonly #o: ResilientInformerOptions;
  readonly #listWatch: ListWatch<KubernetesObject>;
  readonly #backoff: Backoff;
  #attempt = 0;
  #stopped = false;
  #starting = false;
  #restarting = false;
  #erroredDuringStart = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(options: ResilientInformerOptions) {
    this.#o = options;
    this.#backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    this.#listWatch = new ListWatch(options.path, new Watch(options.kubeConfig), options.list, false, options.labelSelector, options.fieldSelector);
    // Every delivered event proves the watch alive, as does every successful (re)start.
    this.#listWatch.on("add", (obj) => this.#deliver(() => options.handlers.upsert(obj)));
    this.#listWatch.on("update", (obj) => this.#deliver(() => options.handlers.upsert(obj)));
    this.#listWatch.on("delete", (obj) => this.#deliver(() => options.handlers.delete(obj)));
    this.#listWatch.on("error", (error: unknown) => this.#onError(error));
  }

  /** Resolves after the first successful list and watch; retries with backoff until then. */
  async start(): Promise<void> {
    if (await this.#tryStart()) return;
    await this.#retryUntilStarted();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#listWatch.stop();
  }

  async #tryStart(): Promise<boolean> {
    this.#starting = true;
    this.#erroredDuringStart = false;
    try {
      await this.#listWatch.start();
    } catch (error) {
      this.#erroredDuringStart = true;
      this.#o.logger.warn("informer start failed", { resource: this.#o.resource, error: describeError(error) });
    } finally {
      this.#starting = false;
    }
    if (this.#erroredDuringStart) return false;
    this.#attempt = 0;
    this.#markSynced();
    return true;
  }

  #deliver(handle: () => void): void {
    handle();
    this.#markSynced();
  }

  #markSynced(): void {
    publishSync({ resource: this.#o.resource, timestampSeconds: Date.now() / 1000 });
  }

  async #retryUntilStarted(): Promise<void> {
    this.#restarting = true;
    try {
      while (!this.#stopped) {
        const delay = backoffDelay(this.#attempt, this.#backoff, this.#o.random ?? Math.random);
        this.#attempt += 1;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, delay);
        });
        if (this.#stopped || (await this.#tryStart())) return;
      }
    } finally {
      this.#restarting = false;
    }
  }

  #onError(error: unknown): void {
    if (this.#stopped) return;
    this.#o.onRestart?.(this.#o.resource, error);
    publishWatchRestart({ resource: this.#o.resource, error: describeError(error) });
    publishApiError({ resource: this.#o.resource, ...statusOf(error), message: describeError(error) });
    this.#o.logger.warn("informer list/watch failed; restarting with backoff", { resource: this.#o.resource, error: describeError(error), attempt: this.#attempt });
    if (this.#starting) {
      this.#erroredDuringStart = true;
      return;
    }
    if (!this.#restarting) void this.#retryUntilStarted();
  }
}

function statusOf(error: unknown): { status?: number } {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? { status } : {};
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { statusCode?: number; code?: number | string }).statusCode ?? (error as { code?: number | string }).code;
    return status !== undefined ? `${error.message} (${String(status)})` : error.message;
  }
  return String(error);
}
