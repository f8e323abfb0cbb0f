// Running one server command with progress and cancellation, independent of
// VS Code: the extension plugs in the language client and VS Code's progress
// UI; the integration test plugs in a plain protocol connection to the real
// server.

import type { CommandArgs } from './tasks';

/** A cancellation token (VS Code's and vscode-jsonrpc's both fit). */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** A work-done progress value ($/progress). */
export interface ProgressValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

/** The connection to the server, as the runner needs it. */
export interface Connection {
  /** Sends a request; cancelling token sends $/cancelRequest. */
  sendRequest(method: string, params: unknown, token: CancelToken): Promise<unknown>;
  /** Calls handler with each $/progress value of token. */
  onWorkDoneProgress(token: string, handler: (value: ProgressValue) => void): { dispose(): unknown };
}

/** Where progress is shown. */
export interface ProgressSink {
  /** Shows message; increment is the growth of the percentage since the last report. */
  report(value: { message?: string; increment?: number }): void;
}

/** Shows progress for the duration of task; cancelling the UI cancels token. */
export type WithProgress = <T>(title: string, task: (progress: ProgressSink, token: CancelToken) => Promise<T>) => Promise<T>;

/** How a command ended. */
export interface Outcome {
  /** The command succeeded. */
  ok: boolean;
  /** The user cancelled it. */
  cancelled: boolean;
  /** What to tell the user: the server's summary when it sent one. */
  message: string;
  /** The command's result on success. */
  result?: unknown;
}

/** The LSP error code of a cancelled request. */
export const REQUEST_CANCELLED = -32800;

function errorCode(e: unknown): number | undefined {
  return e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : undefined;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Options of runCommand. */
export interface RunOptions {
  /** The progress token to use; unique per run. */
  token: string;
  /** Called with the server's final summary before the result arrives. */
  onEnd?: (message: string) => void;
}

/**
 * Runs the server command with args through workspace/executeCommand, showing
 * its $/progress under title; cancelling the progress cancels the request.
 * Never throws: the outcome says what happened.
 */
export async function runCommand(conn: Connection, withProgress: WithProgress, command: string, args: CommandArgs, title: string, opts: RunOptions): Promise<Outcome> {
  return withProgress(title, async (progress, cancel) => {
    let end: string | undefined;
    let last = 0;
    const sub = conn.onWorkDoneProgress(opts.token, (v) => {
      if (v.kind === 'end') {
        end = v.message;
        if (end !== undefined) {
          opts.onEnd?.(end);
        }
        return;
      }
      const report: { message?: string; increment?: number } = {};
      const message = v.kind === 'begin' ? (v.message ?? undefined) : v.message;
      if (message) {
        report.message = message;
      }
      if (typeof v.percentage === 'number' && v.percentage > last) {
        report.increment = v.percentage - last;
        last = v.percentage;
      }
      if (report.message !== undefined || report.increment !== undefined) {
        progress.report(report);
      }
    });
    try {
      const result = await conn.sendRequest('workspace/executeCommand', { command, arguments: [args], workDoneToken: opts.token }, cancel);
      return { ok: true, cancelled: false, message: end ?? `${title}: done`, result };
    } catch (e) {
      if (errorCode(e) === REQUEST_CANCELLED || cancel.isCancellationRequested) {
        return { ok: false, cancelled: true, message: end ?? `${title}: cancelled` };
      }
      return { ok: false, cancelled: false, message: end ?? `${title} failed: ${errorMessage(e)}` };
    } finally {
      sub.dispose();
    }
  });
}

/**
 * Remembers the summaries of the commands the extension reports itself, so that
 * the same text arriving as window/showMessage is not shown a second time.
 */
export class Reported {
  private readonly pending = new Map<string, number>();

  /** Notes that message is being reported by the extension. */
  add(message: string): void {
    this.pending.set(message, (this.pending.get(message) ?? 0) + 1);
  }

  /** Whether message was noted (forgetting one note of it). */
  take(message: string): boolean {
    const n = this.pending.get(message) ?? 0;
    if (n === 0) {
      return false;
    }
    if (n === 1) {
      this.pending.delete(message);
    } else {
      this.pending.set(message, n - 1);
    }
    return true;
  }
}

/**
 * Decides whether a server that stopped unexpectedly is restarted: at most max
 * times within windowMs.
 */
export class CrashPolicy {
  private crashes: number[] = [];

  constructor(
    readonly max = 5,
    readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; true when the server should be restarted. */
  crashed(): boolean {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return this.crashes.length < this.max;
  }

  /** Forgets the crashes (after a restart by the user). */
  reset(): void {
    this.crashes = [];
  }
}
