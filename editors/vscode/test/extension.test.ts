// The extension against stubbed `vscode` and `vscode-languageclient` modules:
// server discovery and start, commands from the server's capabilities, the
// input prompt of Invoke, settings, Restricted Mode, crashes, the status bar.
import './stubs/register';

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';

/* eslint-disable @typescript-eslint/no-explicit-any */
import * as ext from '../src/extension';
import * as lc from './stubs/languageclient';
import * as vscode from './stubs/vscode';
import { findGo } from '../src/discovery';
import { COMMANDS, VERBS, taskCommandId, workflowCommandId } from '../src/verbs';
import { extensionDir, repoDir } from './paths';

const { stub } = vscode;
const pkg = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pelato-vscode-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes an executable file. */
function executable(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

const bin = path.join(tmp, 'bin');
const server = executable(path.join(bin, 'pelato-lsp'));
const cli = executable(path.join(bin, 'pelato'));
const otherServer = executable(path.join(tmp, 'other', 'pelato-lsp'));
const project = path.join(tmp, 'project');
fs.mkdirSync(path.join(project, 'tasks'), { recursive: true });
fs.writeFileSync(path.join(project, 'workflow.yaml'), 'project_name: p\n');
fs.writeFileSync(path.join(project, 'tasks', 'convert.go'), 'package main\n');
const wfUri = vscode.Uri.file(path.join(project, 'workflow.yaml')).toString();

// Discovery sees an empty PATH and home, so only the pelato.path setting finds a server.
const empty = path.join(tmp, 'empty');
fs.mkdirSync(empty);
const savedEnv = { PATH: process.env.PATH, HOME: process.env.HOME, GOPATH: process.env.GOPATH, GOBIN: process.env.GOBIN };
process.env.PATH = empty;
process.env.HOME = empty;
delete process.env.GOPATH;
delete process.env.GOBIN;
after(() => Object.assign(process.env, savedEnv));

function context() {
  const state = new Map<string, unknown>();
  return {
    subscriptions: [] as Array<{ dispose(): unknown }>,
    extension: { packageJSON: pkg },
    workspaceState: { get: (k: string) => state.get(k), update: (k: string, v: unknown) => (state.set(k, v), Promise.resolve()) },
  };
}

let api: ext.Api | undefined;

/** Activates the extension on the stubs. */
async function activate(settings: Record<string, unknown> = { 'pelato.path': server }): Promise<ext.Api> {
  for (const [k, v] of Object.entries(settings)) {
    stub.settings.set(k, v);
  }
  api = await ext.activate(context() as any);
  await api.idle();
  return api;
}

function lastClient(): lc.LanguageClient {
  const c = lc.clients.at(-1);
  assert.ok(c, 'no language client was created');
  return c;
}

function messages(level?: string): string[] {
  return stub.messages.filter((m) => !level || m.level === level).map((m) => m.message);
}

/** Runs a contributed command as the palette would and waits for its work. */
async function run(id: string): Promise<void> {
  const f = stub.commands.get(id);
  assert.ok(f, `${id} is not registered`);
  await f();
  await api!.idle();
  await stub.settle();
}

/** A code action the server would send. */
function sourceAction(verb: string, task?: string) {
  return { title: `pelato: ${verb} ${task ?? 'all tasks'}`, kind: `source.pelato.${verb}`, command: { title: 't', command: `pelato.${verb}`, arguments: [task ? { uri: wfUri, task } : { uri: wfUri }] } };
}

/**
 * What the real server advertises: its command table (src/commands.json,
 * generated from internal/lsp and checked against the running server by the
 * integration test) and the quick-fix helper.
 */
const serverCommands = [...COMMANDS.map((c) => c.command), 'pelato.createFile'].sort();

/**
 * A server answering code actions as the real one does: for a verb the table
 * offers per task, one action per task (every task for a whole-file range,
 * those of `here` otherwise), then one for the whole workflow when the table
 * offers that; and executeCommand with result, after progress and its own
 * showMessage of the summary.
 */
function serve(opts: { here?: string[]; all?: string[]; result?: unknown; summary?: string; onRequest?: (params: any) => void } = {}) {
  lc.server.request = async (c, method, params, token) => {
    if (method === 'textDocument/codeAction') {
      const verb = params.context.only[0].slice('source.pelato.'.length);
      const doc = COMMANDS.find((c) => c.verb === verb);
      const whole = params.range.end.line >= 1_000_000;
      const tasks = doc?.task ? (whole ? (opts.all ?? []) : (opts.here ?? [])) : [];
      return [...tasks.map((t) => sourceAction(verb, t)), ...(doc?.workflow ? [sourceAction(verb)] : [])];
    }
    if (method === 'workspace/executeCommand') {
      opts.onRequest?.(params);
      const emit = c.progress.get(params.workDoneToken);
      emit?.({ kind: 'begin', title: 'pelato: X', percentage: 0 });
      if (token?.isCancellationRequested === false && opts.result === 'wait-for-cancel') {
        return new Promise((_resolve, reject) =>
          token.onCancellationRequested(() => {
            emit?.({ kind: 'end', message: 'pelato: Generate: cancelled' });
            c.handlers.get('window/showMessage')?.({ type: 3, message: 'pelato: Generate: cancelled' });
            reject(Object.assign(new Error('Request cancelled'), { code: -32800 }));
          }),
        );
      }
      emit?.({ kind: 'report', message: 'working', percentage: 50 });
      const summary = opts.summary ?? 'pelato: Done: ok';
      emit?.({ kind: 'end', message: summary });
      c.handlers.get('window/showMessage')?.({ type: 3, message: summary });
      return opts.result ?? null;
    }
    throw new Error(`unexpected request ${method}`);
  };
}

beforeEach(async () => {
  if (api) {
    await ext.deactivate();
    api = undefined;
  }
  stub.reset();
  lc.clients.length = 0;
  lc.server.commands = [...serverCommands];
  lc.server.start = () => undefined;
  serve();
});

describe('starting the server', () => {
  test('for workflow.yaml and task files, with the settings as initializationOptions', async () => {
    await activate({ 'pelato.path': server, 'pelato.debounceMs': 300, 'pelato.lattice': 'edge', 'pelato.trace.server': 'verbose' });
    const c = lastClient();
    assert.equal(c.serverOptions.command, server);
    assert.deepEqual(c.serverOptions.args, []);
    assert.deepEqual(c.clientOptions.documentSelector, [
      { scheme: 'file', pattern: '**/workflow.yaml' },
      { scheme: 'file', pattern: '**/tasks/**/*.go' },
    ]);
    assert.deepEqual(c.clientOptions.initializationOptions, { debounceMs: 300, lattice: 'edge' });
    assert.equal(stub.contexts.get('pelato.serverRunning'), true);
    assert.equal(stub.contexts.get('pelato.trusted'), true);
    assert.equal(c.serverOptions.options.env.GOTOOLCHAIN, process.env.GOTOOLCHAIN);
    assert.deepEqual(api!.advertised, lc.server.commands);
    assert.deepEqual(messages(), []);
  });

  test('palette commands follow what the server advertises, including commands added later', async () => {
    // An older pelato-lsp, without the pipeline's build and deploy.
    lc.server.commands = ['pelato.check', 'pelato.createFile', 'pelato.gen', 'pelato.invoke'];
    await activate();
    assert.equal(stub.contexts.get('pelato.can.gen'), true);
    assert.equal(stub.contexts.get('pelato.can.invoke'), true);
    assert.equal(stub.contexts.get('pelato.can.deploy'), false);
    assert.equal(stub.contexts.get('pelato.can.build'), false);
    // The server of this repository offers deploy and build: the entries turn on.
    lc.server.commands = [...serverCommands];
    await run('pelato.ui.restart');
    assert.equal(stub.contexts.get('pelato.can.deploy'), true);
    assert.equal(stub.contexts.get('pelato.can.build'), true);
    assert.equal(lc.clients.length, 2);
    assert.equal(lc.clients[0].stopped, 1);
  });

  test('a verb the server does not offer is refused with what it offers', async () => {
    lc.server.commands = ['pelato.check', 'pelato.createFile', 'pelato.gen', 'pelato.invoke'];
    await activate();
    await run('pelato.ui.workflow.deploy');
    assert.deepEqual(messages('error'), ['pelato: the server does not offer pelato.deploy (it offers: check, gen, invoke).']);
  });

  test('every palette command runs its server command on what the server offers', async () => {
    // With the server's command table, each Task entry finds the task under the
    // cursor among the server's source actions and each workflow entry runs on
    // the project: none fails with "no task … offers" (Show Task Status did,
    // when the extension had a task entry for a workflow-only command).
    const sent: any[] = [];
    serve({ here: ['celsius'], all: ['celsius', 'filter'], onRequest: (p) => sent.push(p) });
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'tasks', 'convert.go')) }, selection: new vscode.Range(0, 0, 0, 0) };
    stub.input = () => '1';
    let ran = 0;
    for (const v of VERBS) {
      for (const [id, args] of [
        [v.task ? taskCommandId(v.verb) : undefined, { uri: wfUri, task: 'celsius', ...(v.verb === 'invoke' ? { input: '1' } : {}) }],
        [v.workflow ? workflowCommandId(v.verb) : undefined, { uri: wfUri }],
      ] as const) {
        if (!id) {
          continue;
        }
        sent.length = 0;
        await run(id);
        assert.deepEqual(messages('error'), [], id);
        assert.deepEqual(sent.map((p) => [p.command, p.arguments]), [[`pelato.${v.verb}`, [args]]], id);
        ran++;
      }
    }
    assert.equal(ran, COMMANDS.filter((c) => c.task).length + COMMANDS.filter((c) => c.workflow).length);
  });

  test('settings changes reach the server; a new pelato.path restarts it', async () => {
    await activate({ 'pelato.path': server, 'pelato.debounceMs': 300 });
    const first = lastClient();
    stub.setSettings({ 'pelato.checkTasksOn': 'save' });
    await api!.idle();
    assert.deepEqual(first.notifications, [{ method: 'workspace/didChangeConfiguration', params: { settings: { pelato: { debounceMs: 300, checkTasksOn: 'save' } } } }]);
    stub.setSettings({ 'editor.fontSize': 12 });
    assert.equal(first.notifications.length, 1, 'an unrelated setting was sent');
    stub.setSettings({ 'pelato.path': otherServer });
    await api!.idle();
    assert.equal(first.stopped, 1);
    assert.equal(lastClient().serverOptions.command, otherServer);
  });

  test('a pelato.path that is not executable is reported, with a way to the setting', async () => {
    stub.answer = (m) => (m.items.includes('Open settings') ? 'Open settings' : undefined);
    await activate({ 'pelato.path': path.join(tmp, 'nope') });
    await stub.settle();
    assert.equal(lc.clients.length, 0);
    assert.match(messages('error')[0], /pelato\.path setting is ".*nope", which is not an executable file/);
    assert.deepEqual(stub.executed.at(-1), { command: 'workbench.action.openSettings', args: ['pelato.path'] });
  });
});

describe('installing', () => {
  test('a missing server: one notification whose button runs go install in the clone, then starts it', async () => {
    stub.workspaceFolders = [{ uri: vscode.Uri.file(path.join(repoDir, 'examples', 'temperature')), name: 't', index: 0 }];
    stub.answer = (m) => (m.items.includes('Install…') ? 'Install…' : undefined);
    await ext.activate(context() as any).then((a) => (api = a));
    // Wait for the install task, then finish it; it "installed" pelato-lsp on the PATH.
    for (let i = 0; i < 100 && stub.tasks.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(stub.tasks.length, 1);
    const task = stub.tasks[0];
    // The go command, found even when the editor's PATH lacks it.
    assert.match(task.execution.process, /(^|\/)go$/);
    assert.deepEqual(task.execution.args, ['install', './cmd/pelato-lsp', './cmd/pelato']);
    assert.equal(task.execution.options?.cwd, repoDir);
    const installed = executable(path.join(empty, 'pelato-lsp'));
    stub.taskEnd.fire({ execution: { task }, exitCode: 0 });
    await api!.idle();
    const warnings = messages('warning');
    assert.equal(warnings.length, 1, `one notification, got ${JSON.stringify(warnings)}`);
    assert.match(warnings[0], /pelato-lsp, the pelato language server, was not found .*go install \.\/cmd\/pelato-lsp \.\/cmd\/pelato/);
    assert.equal(lastClient().serverOptions.command, installed);
    assert.equal(stub.contexts.get('pelato.serverRunning'), true);
    fs.rmSync(installed);
  });

  test('a server still missing is said again after Restart and after trusting; Install… only in a trusted workspace', async () => {
    vscode.workspace.isTrusted = false;
    await activate({});
    await stub.settle();
    assert.equal(lc.clients.length, 0);
    assert.equal(stub.messages.length, 1);
    assert.match(stub.messages[0].message, /pelato-lsp, the pelato language server, was not found \(searched .*~\/go\/bin\)\..*trust this workspace to install it from here/);
    assert.deepEqual(stub.messages[0].items, ['Set path…'], 'Install… offered in Restricted Mode');
    // Install… from the palette is refused too.
    await run('pelato.ui.install');
    assert.equal(stub.tasks.length, 0);
    assert.match(messages('warning').at(-1) ?? '', /Restricted Mode/);

    stub.messages.length = 0;
    vscode.workspace.isTrusted = true;
    stub.trustGranted.fire();
    await api!.idle();
    await stub.settle();
    assert.equal(stub.messages.length, 1, JSON.stringify(stub.messages));
    assert.match(stub.messages[0].message, /was not found/);
    assert.deepEqual(stub.messages[0].items, ['Install…', 'Set path…']);

    stub.messages.length = 0;
    await run('pelato.ui.restart');
    assert.equal(stub.messages.length, 1, JSON.stringify(stub.messages));
    assert.match(stub.messages[0].message, /was not found/);
    assert.deepEqual(stub.messages[0].items, ['Install…', 'Set path…']);

    // Installed meanwhile where go install puts it: Restart finds it.
    const installed = executable(path.join(empty, 'go', 'bin', 'pelato-lsp'));
    stub.messages.length = 0;
    await run('pelato.ui.restart');
    assert.equal(lastClient().serverOptions.command, installed);
    assert.deepEqual(stub.messages, []);
    fs.rmSync(path.join(empty, 'go'), { recursive: true });
  });

  test('outside a clone the user picks one; a folder that is not pelato is refused', async () => {
    stub.openDialog = () => [vscode.Uri.file(tmp)];
    await activate({});
    await run('pelato.ui.install');
    assert.equal(stub.tasks.length, 0);
    assert.match(messages('error').at(-1) ?? '', /is not a clone of pelato/);
  });
});

describe('commands', () => {
  test('Invoke task… asks for the input and shows the result once', async () => {
    const sent: any[] = [];
    serve({ here: ['celsius'], result: '294.65', summary: 'pelato: Invoke: 294.65', onRequest: (p) => sent.push(p) });
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'tasks', 'convert.go')) }, selection: new vscode.Range(0, 0, 0, 0) };
    stub.input = () => '21.5';
    stub.answer = (m) => (m.items.includes('Copy result') ? 'Copy result' : undefined);
    await run('pelato.ui.invoke');
    assert.equal(sent.length, 1);
    assert.equal(sent[0].command, 'pelato.invoke');
    assert.deepEqual(sent[0].arguments, [{ uri: wfUri, task: 'celsius', input: '21.5' }]);
    assert.match(sent[0].workDoneToken, /^pelato-vscode-\d+$/);
    assert.match(stub.inputs[0].title, /Invoke celsius/);
    // The result, with Copy; the server's own message of it is not shown again.
    assert.deepEqual(stub.messages, [{ level: 'info', message: 'pelato: celsius → 294.65', items: ['Copy result', 'Show log'] }]);
    assert.equal(stub.clipboard, '294.65');
    assert.equal(stub.progress[0].title, 'pelato: Invoke celsius');
    assert.ok(stub.progress[0].cancellable);
  });

  test('dismissing the input box runs nothing', async () => {
    const sent: any[] = [];
    serve({ here: ['celsius'], onRequest: (p) => sent.push(p) });
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'tasks', 'convert.go')) }, selection: new vscode.Range(0, 0, 0, 0) };
    await run('pelato.ui.invoke');
    assert.equal(stub.inputs.length, 1);
    assert.equal(sent.length, 0);
  });

  test('a task command off any task lets the user choose among the project\'s tasks', async () => {
    const sent: any[] = [];
    serve({ here: [], all: ['a', 'b'], summary: 'pelato: Generate: generated 1 component(s)', onRequest: (p) => sent.push(p) });
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'workflow.yaml')) }, selection: new vscode.Range(0, 0, 0, 0) };
    let offered: string[] = [];
    stub.pick = (items) => ((offered = items.map((i: any) => i.label)), items[1]);
    await run('pelato.ui.task.gen');
    assert.deepEqual(offered, ['a', 'b']);
    assert.deepEqual(sent[0].arguments, [{ uri: wfUri, task: 'b' }]);
    assert.deepEqual(messages(), ['pelato: Generate: generated 1 component(s)']);
    assert.deepEqual(stub.progress[0].reports, [{ increment: 50, message: 'working' }]);
  });

  test('a workflow command runs on the project of the active editor', async () => {
    const sent: any[] = [];
    serve({ onRequest: (p) => sent.push(p) });
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'tasks', 'convert.go')) }, selection: new vscode.Range(0, 0, 0, 0) };
    await run('pelato.ui.workflow.check');
    assert.deepEqual(sent[0].arguments, [{ uri: wfUri }]);
  });

  test('code lenses and source actions run through the extension: progress, outcome, input prompt', async () => {
    const sent: any[] = [];
    serve({ onRequest: (p) => sent.push(p), summary: 'pelato: Generate: generated 1 component(s)' });
    await activate();
    const mw = lastClient().clientOptions.middleware;
    let nexts = 0;
    const next = () => ((nexts += 1), Promise.resolve('next'));
    const out = await mw.executeCommand('pelato.gen', [{ uri: wfUri, task: 'a' }], next);
    assert.equal(out.ok, true);
    assert.equal(nexts, 0);
    assert.equal(sent[0].workDoneToken !== undefined, true);
    assert.equal(stub.progress[0].title, 'pelato: Generate a');
    // A future server command, unknown to the extension, too.
    await mw.executeCommand('pelato.frobnicate', [{ uri: wfUri }], next);
    assert.equal(sent[1].command, 'pelato.frobnicate');
    assert.equal(stub.progress[1].title, 'pelato: Frobnicate');
    // Quick-fix helpers and other servers' commands go the usual way.
    assert.equal(await mw.executeCommand('pelato.createFile', [{}], next), 'next');
    assert.equal(await mw.executeCommand('gopls.tidy', [], next), 'next');
    assert.equal(nexts, 2);
    // The Invoke… lens carries no input: the extension asks.
    stub.input = () => 'x';
    await mw.executeCommand('pelato.invoke', [{ uri: wfUri, task: 'a' }], next);
    assert.deepEqual(sent[2].arguments, [{ uri: wfUri, task: 'a', input: 'x' }]);
  });

  test('cancelling the progress cancels the command', async () => {
    serve({ result: 'wait-for-cancel' });
    await activate();
    stub.onProgress = (p) => setTimeout(() => p.source.cancel(), 1);
    const out = await lastClient().clientOptions.middleware.executeCommand('pelato.gen', [{ uri: wfUri }], () => undefined);
    assert.deepEqual(out, { ok: false, cancelled: true, message: 'pelato: Generate: cancelled' });
    await stub.settle();
    assert.deepEqual(messages(), ['pelato: Generate: cancelled']);
  });

  test('failures show with Show log', async () => {
    lc.server.request = async (c, _m, params) => {
      c.progress.get(params.workDoneToken)?.({ kind: 'end', message: 'pelato: Generate failed: check failed' });
      c.handlers.get('window/showMessage')?.({ type: 1, message: 'pelato: Generate failed: check failed' });
      throw Object.assign(new Error('pelato.gen: check failed'), { code: -32803 });
    };
    await activate();
    stub.answer = (m) => (m.items.includes('Show log') ? 'Show log' : undefined);
    await lastClient().clientOptions.middleware.executeCommand('pelato.gen', [{ uri: wfUri }], () => undefined);
    await stub.settle();
    assert.deepEqual(stub.messages, [{ level: 'error', message: 'pelato: Generate failed: check failed', items: ['Show log'] }]);
    assert.equal(stub.outputs[0].shown, 1);
  });

  test('other messages of the server show with Show log', async () => {
    await activate();
    lastClient().handlers.get('window/showMessage')?.({ type: 2, message: 'pelato: something to know' });
    assert.deepEqual(stub.messages, [{ level: 'warning', message: 'pelato: something to know', items: ['Show log'] }]);
  });

  test('Run workflow locally starts pelato dev in a terminal in the project', async () => {
    await activate();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(path.join(project, 'workflow.yaml')) }, selection: new vscode.Range(0, 0, 0, 0) };
    await run('pelato.ui.runLocally');
    assert.equal(stub.terminals.length, 1);
    const t = stub.terminals[0];
    assert.equal(t.shellPath, cli);
    assert.deepEqual(t.shellArgs, ['dev']);
    assert.equal(t.cwd, project);
    assert.ok(t.shown);
  });
});

describe('Restricted Mode', () => {
  test('diagnostics only: no lenses, no pipeline actions or commands, a server that downloads nothing', async () => {
    vscode.workspace.isTrusted = false;
    const sent: any[] = [];
    serve({ onRequest: (p) => sent.push(p) });
    await activate();
    const c = lastClient();
    assert.equal(stub.contexts.get('pelato.trusted'), false);
    assert.equal(c.serverOptions.options.env.GOTOOLCHAIN, 'local');
    assert.equal(c.serverOptions.options.env.CGO_ENABLED, '0');
    const mw = c.clientOptions.middleware;
    assert.deepEqual(mw.provideCodeLenses({}, {}, () => assert.fail('lenses requested')), []);
    const fix = new vscode.CodeAction('Change to `targets`', vscode.CodeActionKind.QuickFix);
    const gen = new vscode.CodeAction('pelato: Generate all tasks', new vscode.CodeActionKind('source.pelato.gen'));
    gen.command = { title: 'g', command: 'pelato.gen', arguments: [{ uri: wfUri }] };
    const bare = { title: 'b', command: 'pelato.deploy', arguments: [{ uri: wfUri }] };
    const other = { title: 'o', command: 'gopls.tidy' };
    assert.deepEqual(await mw.provideCodeActions({}, {}, {}, {}, async () => [fix, gen, bare, other]), [fix, other]);
    await mw.executeCommand('pelato.gen', [{ uri: wfUri }], () => assert.fail('ran'));
    await run('pelato.ui.workflow.gen');
    await run('pelato.ui.runLocally');
    assert.equal(sent.length, 0);
    assert.equal(stub.terminals.length, 0);
    assert.ok(messages('warning').every((m) => m.includes('Restricted Mode')) && messages('warning').length === 3);
    let next = 0;
    await mw.executeCommand('pelato.createFile', [{}], () => (next += 1));
    assert.equal(next, 1, 'quick fixes that create a task file still work');

    // Trusting the workspace restarts the server with everything.
    vscode.workspace.isTrusted = true;
    stub.trustGranted.fire();
    await api!.idle();
    assert.equal(stub.contexts.get('pelato.trusted'), true);
    assert.equal(lastClient().serverOptions.options.env.GOTOOLCHAIN, process.env.GOTOOLCHAIN);
    assert.equal(lc.clients.length, 2);
  });
});

describe('crashes', () => {
  test('the server is restarted with a notice; after 5 crashes in 3 minutes it stays stopped', async () => {
    await activate();
    const c = lastClient();
    stub.answer = (m) => (m.items.includes('Show log') ? 'Show log' : undefined);
    for (let i = 1; i <= 4; i++) {
      const r: any = await c.crash();
      assert.equal(r.action, lc.CloseAction.Restart, `crash ${i}`);
      assert.equal(r.handled, true);
    }
    await stub.settle();
    assert.equal(messages('warning').length, 4);
    assert.match(messages('warning')[0], /pelato-lsp stopped unexpectedly and was restarted/);
    assert.equal(stub.outputs[0].shown, 4);
    assert.equal(stub.contexts.get('pelato.can.gen'), true, 'the commands are read again after a restart');
    const r: any = await c.crash();
    assert.equal(r.action, lc.CloseAction.DoNotRestart);
    await stub.settle();
    assert.match(messages('error')[0], /stopped unexpectedly 5 times in 3 minutes and will not be restarted/);
    assert.deepEqual(stub.messages.at(-1)?.items, ['Restart pelato', 'Show log']);
    assert.match(stub.statusItems[0].text, /stopped/);
  });
});

describe('the status bar', () => {
  test('shows the problems of pelato files and the server state; it opens the Problems view', async () => {
    await activate();
    const item = stub.statusItems[0];
    assert.equal(item.command, 'workbench.actions.view.problems');
    assert.equal(item.text, '$(check) pelato');
    const u = vscode.Uri.file(path.join(project, 'workflow.yaml'));
    stub.diagnostics = [[u, [{ source: 'pelato', severity: vscode.DiagnosticSeverity.Error }, { source: 'pelato', severity: vscode.DiagnosticSeverity.Warning }, { source: 'pelato', severity: vscode.DiagnosticSeverity.Error }, { source: 'yaml', severity: vscode.DiagnosticSeverity.Error }]]];
    stub.diagnosticsChange.fire({});
    assert.equal(item.text, '$(error) 2 $(warning) 1 pelato');
    assert.match(item.tooltip, /running\. 2 error\(s\), 1 warning\(s\) in pelato files/);
    await lastClient().stop();
    assert.equal(item.text, '$(debug-disconnect) pelato: stopped');
  });
});

describe('the YAML extension', () => {
  test('offers once to turn its validation off in the workspace', async () => {
    stub.extensions.add('redhat.vscode-yaml');
    stub.answer = (m) => (m.items.includes('Turn off here') ? 'Turn off here' : undefined);
    await activate();
    await stub.settle();
    assert.deepEqual(stub.updates, [{ section: 'yaml', key: 'validate', value: false, target: vscode.ConfigurationTarget.Workspace }]);
    await run('pelato.ui.restart');
    assert.equal(messages().filter((m) => m.includes('YAML extension')).length, 1);
  });
});

describe('finding the server with the real go command', () => {
  test('a pelato-lsp in the GOBIN set with go env -w is found though PATH lacks it', async (t) => {
    // The go command of the machine, as the extension finds it (PATH is empty here).
    const goCmd = findGo(ext.processDiscoveryEnv());
    if (!goCmd) {
      if (process.env.CI === 'true') {
        assert.fail('no go command');
      }
      t.skip('no go command');
      return;
    }
    const gobin = path.join(tmp, 'go-env-w', 'bin');
    const envFile = path.join(tmp, 'go-env-w', 'env');
    fs.mkdirSync(gobin, { recursive: true });
    fs.writeFileSync(envFile, `GOBIN=${gobin}\n`); // what `go env -w GOBIN=…` writes
    const installed = executable(path.join(gobin, 'pelato-lsp'));
    process.env.GOENV = envFile;
    try {
      assert.deepEqual(ext.goEnvOf(goCmd)?.GOBIN, gobin);
      await activate({});
      assert.equal(lastClient().serverOptions.command, installed);
    } finally {
      delete process.env.GOENV;
    }
  });
});
