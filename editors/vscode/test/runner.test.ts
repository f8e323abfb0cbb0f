import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CancelToken, Connection, CrashPolicy, ProgressValue, Reported, WithProgress, runCommand } from '../src/runner';

/** A progress UI that records reports and can be cancelled. */
function progressUI() {
  const reports: Array<{ message?: string; increment?: number }> = [];
  const titles: string[] = [];
  let cancelListeners: Array<() => unknown> = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested(l: () => unknown) {
      cancelListeners.push(l);
      return { dispose: () => (cancelListeners = cancelListeners.filter((x) => x !== l)) };
    },
  };
  const withProgress: WithProgress = (title, task) => {
    titles.push(title);
    return task({ report: (r) => reports.push(r) }, token);
  };
  const cancel = () => {
    token.isCancellationRequested = true;
    for (const l of cancelListeners) {
      l();
    }
  };
  return { reports, titles, withProgress, cancel };
}

/** A connection whose server runs script with the progress handler of the run. */
function fakeConnection(script: (emit: (v: ProgressValue) => void, params: any, token: CancelToken) => Promise<unknown>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const handlers = new Map<string, (v: ProgressValue) => void>();
  const sent: unknown[] = [];
  const conn: Connection = {
    sendRequest: (_method, params, token) => {
      sent.push(params);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const emit = (v: ProgressValue) => handlers.get((params as any).workDoneToken)?.(v);
      return script(emit, params, token);
    },
    onWorkDoneProgress: (token, handler) => {
      handlers.set(token, handler);
      return { dispose: () => handlers.delete(token) };
    },
  };
  return { conn, sent, handlers };
}

test('progress becomes VS Code reports with percentage increments; the server summary is the message', async () => {
  const ui = progressUI();
  const ended: string[] = [];
  const { conn, sent, handlers } = fakeConnection(async (emit) => {
    emit({ kind: 'begin', title: 'pelato: Generate', percentage: 0 });
    emit({ kind: 'report', message: 'Generating 2 components' });
    emit({ kind: 'report', message: 'a: generated', percentage: 50 });
    emit({ kind: 'report', message: 'b: generated', percentage: 100 });
    emit({ kind: 'end', message: 'pelato: Generate: generated 2 component(s)' });
    return { components: 2 };
  });
  const out = await runCommand(conn, ui.withProgress, 'pelato.gen', { uri: 'file:///p/workflow.yaml' }, 'pelato: Generate', { token: 't1', onEnd: (m) => ended.push(m) });
  assert.deepEqual(out, { ok: true, cancelled: false, message: 'pelato: Generate: generated 2 component(s)', result: { components: 2 } });
  assert.deepEqual(sent, [{ command: 'pelato.gen', arguments: [{ uri: 'file:///p/workflow.yaml' }], workDoneToken: 't1' }]);
  assert.deepEqual(ui.reports, [{ message: 'Generating 2 components' }, { message: 'a: generated', increment: 50 }, { message: 'b: generated', increment: 50 }]);
  assert.deepEqual(ui.titles, ['pelato: Generate']);
  assert.deepEqual(ended, ['pelato: Generate: generated 2 component(s)']);
  assert.equal(handlers.size, 0, 'the progress handler was not removed');
});

test('cancelling the progress cancels the request and reports a cancellation', async () => {
  const ui = progressUI();
  const { conn } = fakeConnection(
    (emit, _params, token) =>
      new Promise((_resolve, reject) => {
        emit({ kind: 'begin', title: 'pelato: Generate' });
        token.onCancellationRequested(() => {
          emit({ kind: 'end', message: 'pelato: Generate: cancelled' });
          reject(Object.assign(new Error('cancelled'), { code: -32800 }));
        });
        setTimeout(ui.cancel, 5);
      }),
  );
  const out = await runCommand(conn, ui.withProgress, 'pelato.gen', { uri: 'u' }, 'pelato: Generate', { token: 't2' });
  assert.deepEqual(out, { ok: false, cancelled: true, message: 'pelato: Generate: cancelled' });
});

test('a failure carries the server\'s message, or the error\'s', async () => {
  const ui = progressUI();
  let { conn } = fakeConnection(async (emit) => {
    emit({ kind: 'end', message: 'pelato: Generate failed: 1 of 2 component(s) failed' });
    throw Object.assign(new Error('pelato.gen: 1 of 2 component(s) failed'), { code: -32803 });
  });
  let out = await runCommand(conn, ui.withProgress, 'pelato.gen', { uri: 'u' }, 'pelato: Generate', { token: 't3' });
  assert.deepEqual(out, { ok: false, cancelled: false, message: 'pelato: Generate failed: 1 of 2 component(s) failed' });
  ({ conn } = fakeConnection(async () => {
    throw Object.assign(new Error('invalid params: command argument: task is required'), { code: -32602 });
  }));
  out = await runCommand(conn, ui.withProgress, 'pelato.invoke', { uri: 'u' }, 'pelato: Invoke', { token: 't4' });
  assert.equal(out.message, 'pelato: Invoke failed: invalid params: command argument: task is required');
});

test('Reported remembers each summary once', () => {
  const r = new Reported();
  r.add('a');
  r.add('a');
  assert.ok(r.take('a') && r.take('a') && !r.take('a') && !r.take('b'));
});

test('CrashPolicy: restarts until max crashes within the window', () => {
  let now = 0;
  const p = new CrashPolicy(3, 1000, () => now);
  assert.ok(p.crashed());
  now = 10;
  assert.ok(p.crashed());
  now = 20;
  assert.ok(!p.crashed(), 'the third crash within the window is one too many');
  now = 2000; // the old crashes are out of the window
  assert.ok(p.crashed());
  p.reset();
  assert.ok(p.crashed() && p.crashed());
});
