import assert from 'node:assert/strict';
import { test } from 'node:test';

import { argsOf, commandsFromActions } from '../src/tasks';

const uri = 'file:///p/workflow.yaml';
const action = (task: string | undefined, command = 'pelato.gen') => ({
  title: task ? `pelato: Generate task ${task}` : 'pelato: Generate all tasks',
  kind: `source.${command}`,
  command: { title: 't', command, arguments: [task ? { uri, task } : { uri }] },
});

test('source actions sort into per-task commands and the workflow one', () => {
  const got = commandsFromActions([action('a'), action('b'), action(undefined), action('a'), action('c', 'pelato.invoke')], 'pelato.gen');
  assert.deepEqual(got.task.map((c) => argsOf(c)?.task), ['a', 'b']);
  assert.deepEqual(got.all && argsOf(got.all), { uri });
  assert.deepEqual(commandsFromActions(null, 'pelato.gen'), { task: [], all: undefined });
  // A bare Command works too.
  const bare = { title: 'x', command: 'pelato.gen', arguments: [{ uri, task: 'z' }] };
  assert.deepEqual(commandsFromActions([bare], 'pelato.gen').task, [bare]);
  assert.equal(argsOf({ title: 'x', command: 'c', arguments: ['not an object'] }), undefined);
});
