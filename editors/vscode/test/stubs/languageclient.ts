// A stub of `vscode-languageclient/node`: a LanguageClient that starts no
// process. A test decides what the "server" advertises and answers.
/* eslint-disable @typescript-eslint/no-explicit-any */

export enum State {
  Stopped = 1,
  Running = 2,
  Starting = 3,
}

export enum CloseAction {
  DoNotRestart = 1,
  Restart = 2,
}

export enum ErrorAction {
  Continue = 1,
  Shutdown = 2,
}

export const WorkDoneProgress = { type: { method: '$/progress' } };

/** How the stub server behaves; a test replaces it. */
export const server = {
  /** The executeCommandProvider commands the server advertises. */
  commands: ['pelato.check', 'pelato.createFile', 'pelato.gen', 'pelato.invoke'] as string[],
  /** Throws to make start fail. */
  start(_c: LanguageClient): void {},
  /** Answers a request. */
  request: (_c: LanguageClient, method: string, _params: any, _token: any): Promise<unknown> => Promise.reject(new Error(`no answer for ${method}`)),
};

/** Every client created, oldest first. */
export const clients: LanguageClient[] = [];

export class LanguageClient {
  state = State.Stopped;
  initializeResult: any;
  readonly notifications: Array<{ method: string; params: unknown }> = [];
  readonly requests: Array<{ method: string; params: any }> = [];
  readonly handlers = new Map<string, (params: any) => void>();
  readonly progress = new Map<string, (value: any) => void>();
  private stateListeners: Array<(e: { oldState: State; newState: State }) => void> = [];
  stopped = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: any,
    readonly clientOptions: any,
  ) {
    clients.push(this);
  }

  private setState(s: State): void {
    const old = this.state;
    this.state = s;
    for (const l of [...this.stateListeners]) {
      l({ oldState: old, newState: s });
    }
  }

  async start(): Promise<void> {
    this.setState(State.Starting);
    try {
      server.start(this);
    } catch (e) {
      this.setState(State.Stopped);
      throw e;
    }
    this.initializeResult = { capabilities: { executeCommandProvider: { commands: [...server.commands] } } };
    this.setState(State.Running);
  }

  async stop(): Promise<void> {
    this.stopped++;
    this.setState(State.Stopped);
  }

  onDidChangeState(l: (e: { oldState: State; newState: State }) => void) {
    this.stateListeners.push(l);
    return { dispose: () => (this.stateListeners = this.stateListeners.filter((x) => x !== l)) };
  }

  onNotification(method: string, handler: (params: any) => void) {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }

  sendNotification(method: string, params: unknown): Promise<void> {
    this.notifications.push({ method, params });
    return Promise.resolve();
  }

  sendRequest(method: string, params: any, token?: any): Promise<unknown> {
    this.requests.push({ method, params });
    return server.request(this, method, params, token);
  }

  onProgress(_type: unknown, token: string, handler: (value: any) => void) {
    this.progress.set(token, handler);
    return { dispose: () => this.progress.delete(token) };
  }

  /** Simulates the server's process ending: the error handler decides. */
  async crash(): Promise<unknown> {
    const r = await this.clientOptions.errorHandler.closed();
    if (r.action === CloseAction.Restart) {
      await this.start();
    } else {
      this.setState(State.Stopped);
    }
    return r;
  }
}
