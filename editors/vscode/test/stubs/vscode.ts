// A stub of the parts of the `vscode` module the extension uses. It records
// what the extension does (messages, context keys, terminals, tasks, progress)
// and answers prompts as a test scripts them through `stub`.
/* eslint-disable @typescript-eslint/no-explicit-any */

type Listener<T> = (e: T) => unknown;

export class Disposable {
  constructor(private readonly f: () => void = () => undefined) {}
  dispose(): void {
    this.f();
  }
}

/** An event source: `event` subscribes, `fire` notifies. */
export class EventEmitter<T> {
  private listeners: Array<Listener<T>> = [];
  readonly event = (l: Listener<T>): Disposable => {
    this.listeners.push(l);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((x) => x !== l);
    });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      l(e);
    }
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  toString(): string {
    return 'file://' + this.fsPath.split('/').map(encodeURIComponent).join('/');
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: number | Position, b: number | Position, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b as number);
      this.end = new Position(c ?? 0, d ?? 0);
    } else {
      this.start = a;
      this.end = b as Position;
    }
  }
}

export class Selection extends Range {}

export class CodeActionKind {
  constructor(readonly value: string) {}
  static readonly QuickFix = new CodeActionKind('quickfix');
  static readonly Source = new CodeActionKind('source');
}

export class CodeAction {
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(
    readonly title: string,
    readonly kind?: CodeActionKind,
  ) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export enum TaskScope {
  Global = 1,
  Workspace = 2,
}

export enum TaskRevealKind {
  Always = 1,
  Silent = 2,
  Never = 3,
}

export class ProcessExecution {
  constructor(
    readonly process: string,
    readonly args: string[],
    readonly options?: { cwd?: string },
  ) {}
}

export class Task {
  presentationOptions: unknown;
  constructor(
    readonly definition: unknown,
    readonly scope: unknown,
    readonly name: string,
    readonly source: string,
    readonly execution: ProcessExecution,
  ) {}
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }
}

/** A message the extension showed. */
export interface Shown {
  level: 'info' | 'warning' | 'error';
  message: string;
  items: string[];
}

/** A progress notification the extension showed. */
export interface ProgressShown {
  title: string;
  cancellable: boolean;
  reports: Array<{ message?: string; increment?: number }>;
  source: CancellationTokenSource;
  done: boolean;
}

/** The test's control of the stub. */
export const stub = {
  messages: [] as Shown[],
  contexts: new Map<string, unknown>(),
  settings: new Map<string, unknown>(),
  updates: [] as Array<{ section: string; key: string; value: unknown; target: unknown }>,
  terminals: [] as any[],
  tasks: [] as Task[],
  progress: [] as ProgressShown[],
  clipboard: '',
  executed: [] as Array<{ command: string; args: unknown[] }>,
  commands: new Map<string, (...args: any[]) => any>(),
  diagnostics: [] as Array<[Uri, Array<{ source?: string; severity: DiagnosticSeverity }>]>,
  extensions: new Set<string>(),
  findFiles: [] as Uri[],
  workspaceFolders: [] as Array<{ uri: Uri; name: string; index: number }>,
  /** Answers a message with one of its items (undefined: dismissed). */
  answer: (_m: Shown): string | undefined => undefined,
  /** Answers an input box. */
  input: (_opts: any): string | undefined => undefined,
  inputs: [] as any[],
  /** Answers a quick pick with one of its items. */
  pick: (items: any[], _opts: any): any => items[0],
  /** Answers an open dialog. */
  openDialog: (): Uri[] | undefined => undefined,
  /** Called when a progress starts (to cancel it, say). */
  onProgress: (_p: ProgressShown): void => undefined,
  configChange: new EventEmitter<{ affectsConfiguration(s: string): boolean }>(),
  trustGranted: new EventEmitter<void>(),
  diagnosticsChange: new EventEmitter<unknown>(),
  taskEnd: new EventEmitter<{ execution: { task: Task }; exitCode: number | undefined }>(),
  statusItems: [] as any[],
  outputs: [] as Array<{ name: string; lines: string[]; shown: number }>,
  /** Waits until no message handler of the stub is pending. */
  settle: (): Promise<void> => new Promise((r) => setTimeout(r, 0)),
  reset(): void {
    this.messages = [];
    this.contexts = new Map();
    this.settings = new Map();
    this.updates = [];
    this.terminals = [];
    this.tasks = [];
    this.progress = [];
    this.clipboard = '';
    this.executed = [];
    this.commands = new Map();
    this.diagnostics = [];
    this.extensions = new Set();
    this.findFiles = [];
    this.workspaceFolders = [];
    this.answer = () => undefined;
    this.input = () => undefined;
    this.inputs = [];
    this.pick = (items) => items[0];
    this.openDialog = () => undefined;
    this.onProgress = () => undefined;
    this.configChange = new EventEmitter();
    this.trustGranted = new EventEmitter();
    this.diagnosticsChange = new EventEmitter();
    this.taskEnd = new EventEmitter();
    this.statusItems = [];
    this.outputs = [];
    workspace.isTrusted = true;
    window.activeTextEditor = undefined;
  },
  /** Changes settings and fires onDidChangeConfiguration. */
  setSettings(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) {
      this.settings.set(k, v);
    }
    const keys = Object.keys(values);
    this.configChange.fire({ affectsConfiguration: (s: string) => keys.some((k) => k === s || k.startsWith(s + '.')) });
  },
};

function show(level: Shown['level']) {
  return (message: string, ...items: string[]): Promise<string | undefined> => {
    const m = { level, message, items };
    stub.messages.push(m);
    return Promise.resolve(stub.answer(m));
  };
}

export const window = {
  activeTextEditor: undefined as any,
  createOutputChannel(name: string) {
    const o = { name, lines: [] as string[], shown: 0 };
    stub.outputs.push(o);
    return {
      name,
      append: (s: string) => o.lines.push(s),
      appendLine: (s: string) => o.lines.push(s),
      replace: () => undefined,
      clear: () => undefined,
      show: () => {
        o.shown++;
      },
      hide: () => undefined,
      dispose: () => undefined,
    };
  },
  createStatusBarItem(id: string, alignment: StatusBarAlignment, priority: number) {
    const item = { id, alignment, priority, text: '', tooltip: '', command: undefined as unknown, name: '', visible: false, show() { item.visible = true; }, hide() { item.visible = false; }, dispose() {} };
    stub.statusItems.push(item);
    return item;
  },
  showInformationMessage: show('info'),
  showWarningMessage: show('warning'),
  showErrorMessage: show('error'),
  showInputBox(opts: any): Promise<string | undefined> {
    stub.inputs.push(opts);
    return Promise.resolve(stub.input(opts));
  },
  showQuickPick(items: any[], opts: any): Promise<any> {
    return Promise.resolve(stub.pick(items, opts));
  },
  showOpenDialog(): Promise<Uri[] | undefined> {
    return Promise.resolve(stub.openDialog());
  },
  async withProgress<T>(opts: { title: string; cancellable?: boolean }, task: (progress: any, token: any) => Promise<T>): Promise<T> {
    const source = new CancellationTokenSource();
    const p: ProgressShown = { title: opts.title, cancellable: opts.cancellable === true, reports: [], source, done: false };
    stub.progress.push(p);
    stub.onProgress(p);
    try {
      return await task({ report: (r: { message?: string; increment?: number }) => p.reports.push(r) }, source.token);
    } finally {
      p.done = true;
    }
  },
  createTerminal(opts: any) {
    const t = { ...opts, shown: false, show() { t.shown = true; }, dispose() {} };
    stub.terminals.push(t);
    return t;
  },
};

export const workspace = {
  isTrusted: true,
  get workspaceFolders() {
    return stub.workspaceFolders;
  },
  getConfiguration(section: string) {
    return {
      get<T>(key: string, dflt?: T): T | undefined {
        const full = `${section}.${key}`;
        return stub.settings.has(full) ? (stub.settings.get(full) as T) : dflt;
      },
      update(key: string, value: unknown, target: unknown): Promise<void> {
        stub.updates.push({ section, key, value, target });
        stub.settings.set(`${section}.${key}`, value);
        return Promise.resolve();
      },
    };
  },
  onDidChangeConfiguration: (l: Listener<any>) => stub.configChange.event(l),
  onDidGrantWorkspaceTrust: (l: Listener<void>) => stub.trustGranted.event(l),
  findFiles(): Promise<Uri[]> {
    return Promise.resolve(stub.findFiles);
  },
  asRelativePath(p: string | Uri): string {
    return typeof p === 'string' ? p : p.fsPath;
  },
};

export const commands = {
  registerCommand(id: string, f: (...args: any[]) => any): Disposable {
    if (stub.commands.has(id)) {
      throw new Error(`command '${id}' already exists`);
    }
    stub.commands.set(id, f);
    return new Disposable(() => stub.commands.delete(id));
  },
  executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    if (command === 'setContext') {
      stub.contexts.set(args[0] as string, args[1]);
      return Promise.resolve(undefined);
    }
    stub.executed.push({ command, args });
    const f = stub.commands.get(command);
    return Promise.resolve(f ? f(...args) : undefined);
  },
};

export const languages = {
  onDidChangeDiagnostics: (l: Listener<unknown>) => stub.diagnosticsChange.event(l),
  getDiagnostics() {
    return stub.diagnostics;
  },
};

export const extensions = {
  getExtension(id: string) {
    return stub.extensions.has(id) ? { id } : undefined;
  },
};

export const env = {
  clipboard: {
    writeText(s: string): Promise<void> {
      stub.clipboard = s;
      return Promise.resolve();
    },
  },
};

export const tasks = {
  executeTask(task: Task): Promise<unknown> {
    stub.tasks.push(task);
    return Promise.resolve({ task });
  },
  onDidEndTaskProcess: (l: Listener<{ execution: { task: Task }; exitCode: number | undefined }>) => stub.taskEnd.event(l),
};
