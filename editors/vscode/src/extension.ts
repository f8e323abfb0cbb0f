// The pelato extension: starts pelato-lsp for a workspace's workflow.yaml and
// task files, and puts the server's pipeline commands in the palette, menus,
// code lenses and source actions, with VS Code's progress UI.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, State, WorkDoneProgress } from 'vscode-languageclient/node';
import type { CloseHandlerResult, ErrorHandlerResult, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';

import { DiscoveryEnv, Found, INSTALL_ARGS, INSTALL_COMMAND, SEARCHED, findCli, findClone, findGo, findServer, isPelatoGoMod, projectOf } from './discovery';
import { CancelToken, Connection, CrashPolicy, Outcome, ProgressValue, Reported, WithProgress, runCommand } from './runner';
import { Manifest, serverSettingKeys, serverSettings } from './settings';
import { CommandArgs, ServerCommand, argsOf, commandsFromActions } from './tasks';
import { VERBS, advertisedVerbs, contextKeys, isPipelineCommand, labelOf, serverCommand, taskCommandId, workflowCommandId } from './verbs';

/** The files the server serves: each project's workflow.yaml and its Go task files. */
export const DOCUMENT_SELECTOR = [
  { scheme: 'file', pattern: '**/workflow.yaml' },
  { scheme: 'file', pattern: '**/tasks/**/*.go' },
];

/** Extra environment of a server started in an untrusted workspace: no toolchain download, no C compiler. */
export const UNTRUSTED_ENV: Readonly<Record<string, string>> = { GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };

const SHOW_LOG = 'Show log';

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function readFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** GOBIN and GOPATH from `go env` (the go command's own settings, `go env -w` included), or undefined without a go command. */
export function goEnvOf(goCommand: string | undefined): { GOBIN?: string; GOPATH?: string } | undefined {
  if (!goCommand) {
    return undefined;
  }
  try {
    // Outside any workspace and with GOTOOLCHAIN=local: a go.mod's toolchain line
    // never makes this download a Go toolchain (the workspace may be untrusted).
    const out = execFileSync(goCommand, ['env', 'GOBIN', 'GOPATH'], {
      encoding: 'utf8',
      timeout: 10_000,
      cwd: os.tmpdir(),
      env: { ...process.env, GOTOOLCHAIN: 'local' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [gobin, gopath] = out.split(/\r?\n/);
    return { GOBIN: gobin?.trim() || undefined, GOPATH: gopath?.trim() || undefined };
  } catch {
    return undefined;
  }
}

/** The discovery environment of this process; go env is run at most once, when needed. */
export function processDiscoveryEnv(): DiscoveryEnv {
  const de: DiscoveryEnv = { platform: process.platform, env: process.env, home: os.homedir(), isExecutable };
  let memo: { value: { GOBIN?: string; GOPATH?: string } | undefined } | undefined;
  return {
    ...de,
    goEnv: () => (memo ??= { value: goEnvOf(findGo(de)) }).value,
  };
}

/** The extension's state, for tests. */
export interface Api {
  readonly client: LanguageClient | undefined;
  readonly advertised: readonly string[];
  /** Runs a server command as a code lens or source action would. */
  execute(command: string, args: CommandArgs): Promise<Outcome | undefined>;
  /** Resolves when pending start, restart and command work has finished. */
  idle(): Promise<void>;
}

/** The running extension. */
export class Pelato implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private readonly status: vscode.StatusBarItem;
  private readonly crashes = new CrashPolicy();
  private readonly reported = new Reported();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly settingKeys: string[];
  private client: LanguageClient | undefined;
  private server: Found | undefined;
  private advertised: string[] = [];
  private running: string[] = [];
  private installOffered = false;
  private nextToken = 0;
  private work: Promise<unknown> = Promise.resolve();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('pelato');
    this.status = vscode.window.createStatusBarItem('pelato.status', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'pelato';
    this.status.command = 'workbench.actions.view.problems';
    this.status.show();
    this.settingKeys = serverSettingKeys(context.extension.packageJSON as Manifest);
    this.disposables.push(this.output, this.status);
    this.registerCommands();
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => this.configurationChanged(e)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        void this.setContext('pelato.trusted', true);
        this.track(this.restart());
      }),
      vscode.languages.onDidChangeDiagnostics(() => this.updateStatus()),
    );
    void this.setContext('pelato.trusted', vscode.workspace.isTrusted);
    this.setAdvertised([]);
    this.updateStatus();
  }

  /** The API returned by activate. */
  api(): Api {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      get client() {
        return self.client;
      },
      get advertised() {
        return self.advertised;
      },
      execute: (command, args) => this.execute(command, args),
      idle: async () => {
        for (let w = this.work; ; w = this.work) {
          await w;
          if (w === this.work) {
            return;
          }
        }
      },
    };
  }

  /** Tracks background work (for Api.idle). */
  private track(p: Promise<unknown>): void {
    const prev = this.work;
    this.work = Promise.allSettled([prev, p]);
  }

  dispose(): void {
    void this.shutdown();
  }

  /** Stops the server and releases everything the extension holds. */
  async shutdown(): Promise<void> {
    await this.stopClient();
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }

  private setContext(key: string, value: unknown): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', key, value);
  }

  private setAdvertised(commands: string[]): void {
    this.advertised = commands;
    for (const [key, value] of Object.entries(contextKeys(commands))) {
      void this.setContext(key, value);
    }
  }

  // ---- commands

  private registerCommands(): void {
    const reg = (id: string, f: () => unknown) => this.disposables.push(vscode.commands.registerCommand(id, f));
    for (const v of VERBS) {
      if (v.task) {
        reg(taskCommandId(v.verb), () => this.track(this.runVerb(v.verb, false)));
      }
      if (v.workflow) {
        reg(workflowCommandId(v.verb), () => this.track(this.runVerb(v.verb, true)));
      }
    }
    reg('pelato.ui.runLocally', () => this.track(this.runLocally()));
    reg('pelato.ui.restart', () => this.track(this.restart()));
    reg('pelato.ui.showLog', () => this.output.show(true));
    reg('pelato.ui.install', () => this.track(this.install()));
  }

  /** Whether commands that build, run or deploy code may run; says why not. */
  private trusted(): boolean {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('pelato: this workspace is in Restricted Mode: only diagnostics are available. Trust the workspace to generate, build, deploy or run its tasks.');
      return false;
    }
    return true;
  }

  /** The running client, or undefined after telling the user. */
  private readyClient(): LanguageClient | undefined {
    if (this.client && this.client.state === State.Running) {
      return this.client;
    }
    void vscode.window.showErrorMessage('pelato: pelato-lsp is not running.', 'Restart pelato', SHOW_LOG).then((pick) => {
      if (pick === 'Restart pelato') {
        this.track(this.restart());
      } else if (pick === SHOW_LOG) {
        this.output.show(true);
      }
    });
    return undefined;
  }

  /** Runs pelato.<verb> for the task under the cursor, or for the whole workflow. */
  async runVerb(verb: string, workflow: boolean): Promise<Outcome | undefined> {
    if (!this.trusted()) {
      return undefined;
    }
    const client = this.readyClient();
    if (!client) {
      return undefined;
    }
    const name = serverCommand(verb);
    if (!this.advertised.includes(name)) {
      void vscode.window.showErrorMessage(`pelato: the server does not offer ${name} (it offers: ${advertisedVerbs(this.advertised).join(', ')}).`);
      return undefined;
    }
    if (workflow) {
      const root = await this.projectRoot();
      if (!root) {
        return undefined;
      }
      return this.execute(name, { uri: vscode.Uri.file(path.join(root, 'workflow.yaml')).toString() });
    }
    const cmd = await this.taskCommand(client, verb);
    if (!cmd) {
      return undefined;
    }
    const args = argsOf(cmd);
    return args ? this.execute(name, { ...args }) : undefined;
  }

  /**
   * The server's command running verb for a task: the task under the cursor
   * (its source actions there), else one chosen from the project's tasks.
   */
  private async taskCommand(client: LanguageClient, verb: string): Promise<ServerCommand | undefined> {
    const name = serverCommand(verb);
    const only = [`source.pelato.${verb}`];
    const ask = async (uri: vscode.Uri, range: vscode.Range) => {
      const actions = await client.sendRequest<ServerCommand[] | null>('textDocument/codeAction', {
        textDocument: { uri: uri.toString() },
        range: { start: { line: range.start.line, character: range.start.character }, end: { line: range.end.line, character: range.end.character } },
        context: { diagnostics: [], only },
      });
      return commandsFromActions(actions, name);
    };
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.scheme === 'file' && projectOf(editor.document.uri.fsPath, isFile)) {
      const here = await ask(editor.document.uri, editor.selection);
      if (here.task.length === 1) {
        return here.task[0];
      }
      if (here.task.length > 1) {
        return this.pickTask(here.task, name);
      }
    }
    const root = await this.projectRoot();
    if (!root) {
      return undefined;
    }
    const wf = vscode.Uri.file(path.join(root, 'workflow.yaml'));
    const all = await ask(wf, new vscode.Range(0, 0, 1_000_000, 0));
    if (all.task.length === 0) {
      void vscode.window.showErrorMessage(`pelato: no task of ${vscode.workspace.asRelativePath(wf)} offers ${name}.`);
      return undefined;
    }
    return this.pickTask(all.task, name);
  }

  private async pickTask(cmds: ServerCommand[], name: string): Promise<ServerCommand | undefined> {
    const items = cmds.map((c) => ({ label: argsOf(c)?.task ?? c.title, cmd: c }));
    const pick = await vscode.window.showQuickPick(items, { placeHolder: `${name}: which task?` });
    return pick?.cmd;
  }

  /** The project of the active editor, else the workspace's only one, else one chosen. */
  private async projectRoot(): Promise<string | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.scheme === 'file') {
      const root = projectOf(editor.document.uri.fsPath, isFile);
      if (root) {
        return root;
      }
    }
    const found = await vscode.workspace.findFiles('**/workflow.yaml', '**/{node_modules,gen,.git}/**', 50);
    const roots = [...new Set(found.map((u) => path.dirname(u.fsPath)))].sort();
    if (roots.length === 1) {
      return roots[0];
    }
    if (roots.length === 0) {
      void vscode.window.showErrorMessage('pelato: no workflow.yaml in this workspace.');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      roots.map((r) => ({ label: vscode.workspace.asRelativePath(path.join(r, 'workflow.yaml')), root: r })),
      { placeHolder: 'pelato: which project?' },
    );
    return pick?.root;
  }

  /**
   * Runs a server command with VS Code's progress (cancellable) and shows the
   * outcome; pelato.invoke without an input asks for it first.
   */
  async execute(command: string, args: CommandArgs): Promise<Outcome | undefined> {
    if (!this.trusted()) {
      return undefined;
    }
    const client = this.readyClient();
    if (!client) {
      return undefined;
    }
    if (command === 'pelato.invoke' && args.input === undefined) {
      const input = await vscode.window.showInputBox({
        title: `pelato: Invoke ${args.task ?? 'task'}`,
        prompt: `The input passed to exec_task of ${args.task ?? 'the task'}`,
        placeHolder: 'for example 21.5',
        ignoreFocusOut: true,
      });
      if (input === undefined) {
        return undefined; // the input box was dismissed
      }
      args = { ...args, input };
    }
    const title = `pelato: ${labelOf(command.slice('pelato.'.length))}${args.task ? ' ' + args.task : ''}`;
    const conn: Connection = {
      sendRequest: (method, params, token) => client.sendRequest(method, params, token as vscode.CancellationToken),
      onWorkDoneProgress: (token, handler) => client.onProgress(WorkDoneProgress.type, token, (v) => handler(v as ProgressValue)),
    };
    const withProgress: WithProgress = (t, task) =>
      Promise.resolve(
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: t, cancellable: true }, (progress, token) =>
          task(progress, token as CancelToken),
        ),
      );
    this.running.push(title);
    this.updateStatus();
    let outcome: Outcome;
    try {
      outcome = await runCommand(conn, withProgress, command, args, title, {
        token: `pelato-vscode-${++this.nextToken}`,
        onEnd: (m) => this.reported.add(m),
      });
    } finally {
      this.running.splice(this.running.indexOf(title), 1);
      this.updateStatus();
    }
    this.showOutcome(command, args, outcome);
    return outcome;
  }

  private showOutcome(command: string, args: CommandArgs, outcome: Outcome): void {
    const log = (pick: string | undefined) => {
      if (pick === SHOW_LOG) {
        this.output.show(true);
      }
    };
    if (outcome.cancelled) {
      void vscode.window.showInformationMessage(outcome.message);
    } else if (!outcome.ok) {
      void vscode.window.showErrorMessage(outcome.message, SHOW_LOG).then(log);
    } else if (command === 'pelato.invoke') {
      const text = typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result);
      this.output.appendLine(`pelato: Invoke ${args.task} with ${JSON.stringify(args.input)}: ${text}`);
      void vscode.window.showInformationMessage(`pelato: ${args.task} → ${text}`, 'Copy result', SHOW_LOG).then((pick) => {
        if (pick === 'Copy result') {
          void vscode.env.clipboard.writeText(text);
        }
        log(pick);
      });
    } else {
      void vscode.window.showInformationMessage(outcome.message, SHOW_LOG).then(log);
    }
  }

  /** Shows a window/showMessage of the server, unless the extension reports it already. */
  private showServerMessage(m: { type: number; message: string }): void {
    if (this.reported.take(m.message)) {
      return;
    }
    const show = m.type === 1 ? vscode.window.showErrorMessage : m.type === 2 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(m.message, SHOW_LOG).then((pick) => {
      if (pick === SHOW_LOG) {
        this.output.show(true);
      }
    });
  }

  /** Starts `pelato dev` for the project in a terminal. */
  async runLocally(): Promise<vscode.Terminal | undefined> {
    if (!this.trusted()) {
      return undefined;
    }
    const cli = findCli(this.server, processDiscoveryEnv());
    if (!cli) {
      this.offerInstall(true);
      return undefined;
    }
    const root = await this.projectRoot();
    if (!root) {
      return undefined;
    }
    const terminal = vscode.window.createTerminal({ name: `pelato dev: ${path.basename(root)}`, cwd: root, shellPath: cli.path, shellArgs: ['dev'] });
    terminal.show();
    return terminal;
  }

  // ---- the server

  /** Starts the language server, once it is found. */
  async start(): Promise<void> {
    const found = findServer(vscode.workspace.getConfiguration('pelato').get<string>('path'), processDiscoveryEnv());
    if (found && 'error' in found) {
      this.output.appendLine(found.error);
      void vscode.window.showErrorMessage(`pelato: ${found.error}`, 'Open settings').then((pick) => {
        if (pick === 'Open settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'pelato.path');
        }
      });
      this.updateStatus();
      return;
    }
    if (!found) {
      this.output.appendLine(`pelato-lsp was not found (searched ${SEARCHED}).`);
      this.offerInstall(false);
      this.updateStatus();
      return;
    }
    this.server = found;
    this.output.appendLine(`Starting ${found.path} ${found.args.join(' ')} (found through ${found.source}).`);
    const trusted = vscode.workspace.isTrusted;
    const serverOptions: ServerOptions = {
      command: found.path,
      args: found.args,
      options: { env: { ...process.env, ...(trusted ? {} : UNTRUSTED_ENV) } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      diagnosticCollectionName: 'pelato',
      outputChannel: this.output,
      initializationOptions: this.serverSettings(),
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
        closed: () => this.serverClosed(),
      },
      middleware: {
        executeCommand: (command, args, next) => {
          if (!isPipelineCommand(command)) {
            return next(command, args);
          }
          const a = (args[0] ?? {}) as CommandArgs;
          return this.execute(command, { ...a });
        },
        provideCodeLenses: (document, token, next) => (vscode.workspace.isTrusted ? next(document, token) : []),
        provideCodeActions: async (document, range, context, token, next) => {
          const actions = await next(document, range, context, token);
          if (vscode.workspace.isTrusted || !actions) {
            return actions;
          }
          // Restricted Mode: quick fixes only, no pipeline.
          return actions.filter((a) => {
            if (a instanceof vscode.CodeAction) {
              return !a.kind?.value.startsWith('source.pelato') && !(a.command && isPipelineCommand(a.command.command));
            }
            return !isPipelineCommand(a.command); // a bare Command
          });
        },
      },
    };
    const client = new LanguageClient('pelato', 'pelato', serverOptions, clientOptions);
    this.client = client;
    client.onNotification('window/showMessage', (m: { type: number; message: string }) => this.showServerMessage(m));
    client.onDidChangeState(() => {
      if (client.state !== State.Running) {
        this.setAdvertised([]);
      }
      void this.setContext('pelato.serverRunning', client.state === State.Running);
      this.updateStatus();
    });
    try {
      await client.start();
    } catch (e) {
      this.output.appendLine(`pelato-lsp did not start: ${e instanceof Error ? e.message : String(e)}`);
      void vscode.window.showErrorMessage(`pelato: pelato-lsp (${found.path}) did not start.`, SHOW_LOG).then((pick) => {
        if (pick === SHOW_LOG) {
          this.output.show(true);
        }
      });
      this.updateStatus();
      return;
    }
    this.serverStarted(client);
    this.offerYamlValidationOff();
  }

  /**
   * With the Red Hat YAML extension, which validates workflow.yaml against the
   * same schema (contributed as yamlValidation), offers once per workspace to
   * turn its validation off there, so that schema problems are not shown twice.
   */
  private offerYamlValidationOff(): void {
    if (!vscode.extensions.getExtension('redhat.vscode-yaml') || this.context.workspaceState.get<boolean>('pelato.yamlAsked')) {
      return;
    }
    const yaml = vscode.workspace.getConfiguration('yaml');
    if (yaml.get<boolean>('validate') === false) {
      return;
    }
    void this.context.workspaceState.update('pelato.yamlAsked', true);
    void vscode.window
      .showInformationMessage(
        "pelato: the YAML extension also validates workflow.yaml against pelato's schema, so schema problems show twice. Turn its validation off in this workspace? Its completion and hovers stay.",
        'Turn off here',
        'Keep both',
      )
      .then((pick) => {
        if (pick === 'Turn off here') {
          void yaml.update('validate', false, vscode.ConfigurationTarget.Workspace);
        }
      });
  }

  /** Reads what the server advertises once it runs. */
  private serverStarted(client: LanguageClient): void {
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    this.setAdvertised([...commands]);
    void this.setContext('pelato.serverRunning', true);
    this.updateStatus();
  }

  /** The error handler's answer when the server's connection closes unexpectedly. */
  private serverClosed(): CloseHandlerResult {
    const log = (pick: string | undefined) => {
      if (pick === SHOW_LOG) {
        this.output.show(true);
      } else if (pick === 'Restart pelato') {
        this.track(this.restart());
      }
    };
    if (this.crashes.crashed()) {
      void vscode.window.showWarningMessage('pelato: pelato-lsp stopped unexpectedly and was restarted.', SHOW_LOG).then(log);
      // Once restarted, read the advertised commands again.
      const client = this.client;
      if (client) {
        const sub = client.onDidChangeState((e) => {
          if (e.newState === State.Running) {
            sub.dispose();
            this.serverStarted(client);
          }
        });
      }
      return { action: CloseAction.Restart, handled: true };
    }
    void vscode.window
      .showErrorMessage(`pelato: pelato-lsp stopped unexpectedly ${this.crashes.max} times in ${this.crashes.windowMs / 60_000} minutes and will not be restarted.`, 'Restart pelato', SHOW_LOG)
      .then(log);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.setAdvertised([]);
    if (client) {
      try {
        await client.stop(5000);
      } catch (e) {
        this.output.appendLine(`stopping pelato-lsp: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Stops the server (if running), finds it again and starts it. */
  async restart(): Promise<void> {
    await this.stopClient();
    this.crashes.reset();
    this.installOffered = false; // a server still missing is said again
    await this.start();
  }

  private serverSettings(): Record<string, unknown> {
    const conf = vscode.workspace.getConfiguration('pelato');
    return serverSettings(this.settingKeys, (k) => conf.get(k));
  }

  private configurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration('pelato.path')) {
      this.track(this.restart());
      return;
    }
    const client = this.client;
    if (client && client.state === State.Running && this.settingKeys.some((k) => e.affectsConfiguration(`pelato.${k}`))) {
      this.track(client.sendNotification('workspace/didChangeConfiguration', { settings: { pelato: this.serverSettings() } }));
    }
  }

  // ---- installing

  /**
   * Tells the user how to install pelato-lsp: once per start of the extension
   * and again after each restart (Restart pelato, trusting the workspace, a new
   * pelato.path), always when asked for. Install… runs code from the workspace's
   * clone, so it is offered in a trusted workspace only.
   */
  private offerInstall(again: boolean): void {
    if (this.installOffered && !again) {
      return;
    }
    this.installOffered = true;
    const what = again ? 'The pelato command line was not found' : 'pelato-lsp, the pelato language server, was not found';
    const trusted = vscode.workspace.isTrusted;
    const how = trusted
      ? `Install pelato from a clone of its repository with \`${INSTALL_COMMAND}\`.`
      : `Install pelato from a clone of its repository with \`${INSTALL_COMMAND}\` (or trust this workspace to install it from here), then run pelato: Restart pelato.`;
    const items = trusted ? ['Install…', 'Set path…'] : ['Set path…'];
    void vscode.window.showWarningMessage(`pelato: ${what} (searched ${SEARCHED}). ${how}`, ...items).then((pick) => {
      if (pick === 'Install…') {
        this.track(this.install());
      } else if (pick === 'Set path…') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'pelato.path');
      }
    });
  }

  /**
   * Runs `go install ./cmd/pelato-lsp ./cmd/pelato` in a terminal, in the clone
   * of pelato the workspace is in or one the user picks, and starts the server
   * when it succeeds.
   */
  async install(): Promise<number | undefined> {
    if (!this.trusted()) {
      return undefined;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    let clone = findClone(folders, readFile);
    if (!clone) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Install from this clone of pelato', title: 'pelato: the folder of a clone of the pelato repository' });
      if (!picked || picked.length === 0) {
        return undefined;
      }
      clone = picked[0].fsPath;
      const gomod = readFile(path.join(clone, 'go.mod'));
      if (gomod === undefined || !isPelatoGoMod(gomod)) {
        void vscode.window.showErrorMessage(`pelato: ${clone} is not a clone of pelato (its go.mod does not declare module github.com/pelato-dev/pelato).`);
        return undefined;
      }
    }
    const task = new vscode.Task({ type: 'pelato', action: 'install' }, vscode.TaskScope.Workspace, 'install pelato', 'pelato', new vscode.ProcessExecution(findGo(processDiscoveryEnv()) ?? 'go', INSTALL_ARGS, { cwd: clone }));
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
    const done = new Promise<number | undefined>((resolve) => {
      const sub = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution.task === task || e.execution.task.name === task.name) {
          sub.dispose();
          resolve(e.exitCode);
        }
      });
    });
    await vscode.tasks.executeTask(task);
    const code = await done;
    if (code === 0) {
      void vscode.window.showInformationMessage('pelato: installed; starting pelato-lsp.');
      await this.restart();
    } else {
      void vscode.window.showErrorMessage(`pelato: \`${INSTALL_COMMAND}\` failed (exit code ${code}); see its terminal.`);
    }
    return code;
  }

  // ---- the status bar

  private updateStatus(): void {
    let errors = 0;
    let warnings = 0;
    for (const [, diags] of vscode.languages.getDiagnostics()) {
      for (const d of diags) {
        if (d.source === 'pelato') {
          if (d.severity === vscode.DiagnosticSeverity.Error) {
            errors++;
          } else if (d.severity === vscode.DiagnosticSeverity.Warning) {
            warnings++;
          }
        }
      }
    }
    const state = this.client?.state;
    const problems = `${errors} error(s), ${warnings} warning(s) in pelato files`;
    if (this.running.length > 0) {
      this.status.text = `$(sync~spin) ${this.running[this.running.length - 1]}…`;
      this.status.tooltip = `pelato-lsp is running ${this.running.join(', ')}. ${problems}. Click to open the Problems view.`;
    } else if (state === State.Running) {
      const counts = [errors > 0 ? `$(error) ${errors}` : '', warnings > 0 ? `$(warning) ${warnings}` : ''].filter((s) => s !== '').join(' ');
      this.status.text = counts === '' ? '$(check) pelato' : `${counts} pelato`;
      this.status.tooltip = `pelato-lsp is running. ${problems}. Click to open the Problems view.`;
    } else if (state === State.Starting) {
      this.status.text = '$(sync~spin) pelato';
      this.status.tooltip = 'pelato-lsp is starting.';
    } else {
      this.status.text = '$(debug-disconnect) pelato: stopped';
      this.status.tooltip = `pelato-lsp is not running (run "pelato: Restart pelato"). ${problems}. Click to open the Problems view.`;
    }
  }
}

let current: Pelato | undefined;

/** Activates the extension: on a workspace holding a workflow.yaml. */
export async function activate(context: vscode.ExtensionContext): Promise<Api> {
  const ext = new Pelato(context);
  current = ext;
  context.subscriptions.push(ext);
  await ext.start();
  return ext.api();
}

/** Deactivates the extension: the server is stopped. */
export async function deactivate(): Promise<void> {
  const ext = current;
  current = undefined;
  await ext?.shutdown();
}
