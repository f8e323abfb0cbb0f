// The extension's protocol side against the real pelato-lsp, through the
// protocol layer vscode-languageclient itself runs on
// (vscode-languageserver-protocol over vscode-jsonrpc), on a copy of
// examples/temperature: diagnostics arrive, code lenses carry commands the
// extension handles, pelato.gen runs with progress through the extension's
// runner, and a cancelled run stops.
//
// The server: $PELATO_LSP, else built from the repository with `go build`.
// Without either (no Go toolchain) the test is skipped, except under CI=true.
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  MessageConnection,
  PublishDiagnosticsParams,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  createMessageConnection,
} from 'vscode-languageserver-protocol/node';

import { Connection, Outcome, ProgressSink, WithProgress, runCommand } from '../src/runner';
import { serverSettingKeys, serverSettings } from '../src/settings';
import { argsOf, commandsFromActions } from '../src/tasks';
import { COMMANDS, isPipelineCommand } from '../src/verbs';
import { extensionDir, repoDir } from './paths';

const WAIT_MS = 30_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pelato-vscode-it-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The server binary, or undefined with the reason there is none. */
function serverBinary(): { bin?: string; why?: string } {
  if (process.env.PELATO_LSP) {
    return { bin: path.resolve(process.env.PELATO_LSP) };
  }
  const bin = path.join(tmp, 'pelato-lsp');
  try {
    execFileSync('go', ['build', '-o', bin, './cmd/pelato-lsp'], { cwd: repoDir, stdio: 'pipe' });
    return { bin };
  } catch (e) {
    return { why: `PELATO_LSP is not set and go build ./cmd/pelato-lsp failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function copyDir(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true, filter: (p) => path.basename(p) !== 'gen' });
}

/** A copy of examples/temperature. */
function exampleProject(name: string): string {
  const dst = path.join(tmp, name);
  copyDir(path.join(repoDir, 'examples', 'temperature'), dst);
  return dst;
}

const uri = (p: string) => pathToFileURL(p).href;

/** Waits until cond holds. */
async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A progress UI recording reports; cancel() cancels its token. */
function recordingProgress(onStart?: (cancel: () => void) => void) {
  const reports: Array<{ message?: string; increment?: number }> = [];
  const withProgress: WithProgress = (_title, task) => {
    const source = new CancellationTokenSource();
    const sink: ProgressSink = { report: (r) => reports.push(r) };
    onStart?.(() => source.cancel());
    return task(sink, source.token);
  };
  return { reports, withProgress };
}

const { bin, why } = serverBinary();
const ci = process.env.CI === 'true';

describe('pelato-lsp through vscode-languageserver-protocol', { skip: !bin && !ci ? why : false }, () => {
  let proc: ChildProcess;
  let conn: MessageConnection;
  let root: string;
  let advertised: string[] = [];
  const diagnostics = new Map<string, PublishDiagnosticsParams>();
  const shown: string[] = [];
  const progressKinds = new Map<string, string[]>();
  let stderr = '';

  const runner = (): Connection => ({
    sendRequest: (method, params, token) => conn.sendRequest(method, params, token as never),
    onWorkDoneProgress: (token, handler) =>
      conn.onProgress(WorkDoneProgress.type, token, (v) => {
        progressKinds.set(token, [...(progressKinds.get(token) ?? []), v.kind]);
        handler(v as never);
      }),
  });

  before(async () => {
    assert.ok(bin, why);
    root = exampleProject('temperature');
    proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr!.on('data', (d) => (stderr += String(d)));
    conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => diagnostics.set(p.uri, p));
    conn.onNotification('window/showMessage', (p: { message: string }) => shown.push(p.message));
    conn.onNotification('window/logMessage', () => undefined);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('client/registerCapability', () => null);
    conn.listen();
    // The initializationOptions the extension sends: its settings' defaults.
    const pkg = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
    const props = pkg.contributes.configuration.properties;
    const init = serverSettings(serverSettingKeys(pkg), (k) => props[`pelato.${k}`].default);
    const res: { capabilities: { executeCommandProvider?: { commands: string[] } } } = await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: uri(root),
      workspaceFolders: [{ uri: uri(root), name: 'temperature' }],
      initializationOptions: init,
      capabilities: {
        window: { workDoneProgress: true },
        workspace: { workspaceEdit: { documentChanges: true, resourceOperations: ['create'] }, didChangeWatchedFiles: { dynamicRegistration: true } },
        textDocument: { codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source'] } } } },
      },
    });
    advertised = res.capabilities.executeCommandProvider?.commands ?? [];
    await conn.sendNotification('initialized', {});
  });

  after(async () => {
    if (!conn) {
      return;
    }
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
    const code = await exited;
    conn.dispose();
    assert.equal(code, 0, `pelato-lsp exited with ${code}; stderr:\n${stderr}`);
  });

  test('diagnostics arrive as the workflow is edited', async () => {
    const wf = path.join(root, 'workflow.yaml');
    const text = fs.readFileSync(wf, 'utf8');
    const broken = text.replace('type: processor_nats', 'type: procesor_nats');
    assert.notEqual(broken, text);
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: uri(wf), languageId: 'yaml', version: 1, text: broken } });
    const codes = () => (diagnostics.get(uri(wf))?.diagnostics ?? []).map((d) => d.code);
    await waitFor('PL201 on workflow.yaml', () => codes().includes('PL201'));
    const d = diagnostics.get(uri(wf))!.diagnostics.find((x) => x.code === 'PL201')!;
    assert.equal(d.source, 'pelato');
    await conn.sendNotification('textDocument/didChange', { textDocument: { uri: uri(wf), version: 2 }, contentChanges: [{ text }] });
    await waitFor('PL201 gone after the fix', () => diagnostics.get(uri(wf))?.version === 2 && !codes().includes('PL201'));
  });

  test('every code lens carries a command the server advertises and the extension runs', async () => {
    const lenses: Array<{ command?: { title: string; command: string; arguments?: unknown[] } }> = await conn.sendRequest('textDocument/codeLens', {
      textDocument: { uri: uri(path.join(root, 'workflow.yaml')) },
    });
    assert.ok(lenses.length >= 4, JSON.stringify(lenses));
    for (const l of lenses) {
      assert.ok(l.command, 'a lens without a command');
      // The language client registers each advertised command; the extension's
      // middleware runs every pipeline command among them.
      assert.ok(advertised.includes(l.command.command), `${l.command.command} is not advertised`);
      assert.ok(isPipelineCommand(l.command.command), `${l.command.command} is not run by the extension`);
      assert.ok(argsOf(l.command), `${l.command.title}: no argument object`);
    }
    const titles = lenses.map((l) => l.command!.title);
    assert.ok(titles.includes('Generate all') && titles.includes('Generate') && titles.includes('Invoke…'), titles.join(', '));
  });

  test('the server offers exactly the command table the extension was built with (src/commands.json)', async () => {
    // Advertised: the table's commands and the quick-fix helper, no more.
    assert.deepEqual([...advertised].sort(), [...COMMANDS.map((c) => c.command), 'pelato.createFile'].sort());
    const wf = uri(path.join(root, 'workflow.yaml'));
    const tasks = ['celsius_to_kelvin_conversion', 'temp_filter'];
    const lenses: Array<{ command: { command: string; arguments?: unknown[] } }> = await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: wf } });
    for (const c of COMMANDS) {
      // The source actions the palette's entries look for, over the whole file
      // as the task picker asks (src/extension.ts taskCommand).
      const actions = await conn.sendRequest('textDocument/codeAction', {
        textDocument: { uri: wf },
        range: { start: { line: 0, character: 0 }, end: { line: 1_000_000, character: 0 } },
        context: { diagnostics: [], only: [`source.pelato.${c.verb}`] },
      });
      const found = commandsFromActions(actions as never, c.command);
      assert.deepEqual(found.task.map((t) => argsOf(t)?.task).sort(), c.task ? tasks : [], `${c.command}: actions per task`);
      assert.equal(found.all !== undefined, c.workflow, `${c.command}: an action for the whole workflow`);
      const mine = lenses.filter((l) => l.command.command === c.command).map((l) => argsOf(l.command as never)?.task ?? '');
      assert.deepEqual(mine.filter((t) => t !== '').sort(), c.taskLens ? tasks : [], `${c.command}: lenses per task`);
      assert.equal(mine.includes(''), c.workflowLens, `${c.command}: a lens for the workflow`);
    }
  });

  test('pelato.gen of the task under the cursor runs with progress', async () => {
    // The task of tasks/filter.go, as the palette's "Generate Task" finds it.
    const actions = await conn.sendRequest('textDocument/codeAction', {
      textDocument: { uri: uri(path.join(root, 'tasks', 'filter.go')) },
      range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } },
      context: { diagnostics: [], only: ['source.pelato.gen'] },
    });
    const found = commandsFromActions(actions as never, 'pelato.gen');
    assert.equal(found.task.length, 1);
    assert.ok(found.all);
    const args = argsOf(found.task[0])!;
    assert.equal(args.task, 'temp_filter');
    const ui = recordingProgress();
    const ended: string[] = [];
    const out: Outcome = await runCommand(runner(), ui.withProgress, 'pelato.gen', args, 'pelato: Generate temp_filter', { token: 'it-gen', onEnd: (m) => ended.push(m) });
    assert.deepEqual({ ok: out.ok, message: out.message }, { ok: true, message: 'pelato: Generate: generated 1 component' });
    assert.ok(fs.existsSync(path.join(root, 'gen', 'temp_filter', 'wadm.yaml')));
    assert.ok(!fs.existsSync(path.join(root, 'gen', 'celsius_to_kelvin_conversion')));
    assert.deepEqual(progressKinds.get('it-gen')?.[0], 'begin');
    assert.equal(progressKinds.get('it-gen')?.at(-1), 'end');
    assert.ok(ui.reports.some((r) => r.message === 'temp_filter: generated'), JSON.stringify(ui.reports));
    assert.equal(ui.reports.reduce((n, r) => n + (r.increment ?? 0), 0), 100);
    assert.deepEqual(ended, [out.message]);
    await waitFor('the server\'s message of the outcome', () => shown.includes(out.message));
  });

  test('a cancelled pelato.gen stops and says so', async () => {
    // A workflow of 40 tasks, so that generating it outlasts the cancellation.
    const big = exampleProject('big');
    const tasks = Array.from({ length: 40 }, (_, i) =>
      [`  - name: Task ${i}`, '    type: processor_nats', '    code: filter.go', '    targets: [edge]', `    source_topic: t${i}`, `    dest_topic: t${i + 1}`, `    component_name: c${i}`, '    version: 1.0.0'].join('\n'),
    );
    fs.writeFileSync(path.join(big, 'workflow.yaml'), `project_name: Big\ntasks:\n${tasks.join('\n')}\n`);
    // Commands run only on projects in the workspace: add the folder, as a user would.
    await conn.sendNotification('workspace/didChangeWorkspaceFolders', { event: { added: [{ uri: uri(big), name: 'big' }], removed: [] } });
    const ui = recordingProgress((cancel) => setImmediate(cancel));
    const out = await runCommand(runner(), ui.withProgress, 'pelato.gen', { uri: uri(path.join(big, 'workflow.yaml')) }, 'pelato: Generate', { token: 'it-cancel' });
    assert.deepEqual(out, { ok: false, cancelled: true, message: 'pelato: Generate: cancelled' });
    assert.equal(progressKinds.get('it-cancel')?.at(-1), 'end');
    const generated = fs.existsSync(path.join(big, 'gen')) ? fs.readdirSync(path.join(big, 'gen')).filter((n) => /^c\d+$/.test(n)) : [];
    assert.ok(generated.length < 40, `all ${generated.length} components were generated despite the cancellation`);
    // The server goes on serving.
    const n = await conn.sendRequest('workspace/executeCommand', { command: 'pelato.check', arguments: [{ uri: uri(path.join(big, 'workflow.yaml')) }] });
    assert.equal(typeof n, 'number');
  });
});
