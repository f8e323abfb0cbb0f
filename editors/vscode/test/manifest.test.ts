// package.json against the extension's code: the palette commands of every verb,
// their when-clauses, the settings sent to the server, the schema.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { EXTENSION_ONLY, serverSettingKeys, serverSettings } from '../src/settings';
import { COMMANDS, VERBS, advertisedVerbs, contextKey, contextKeys, isPipelineCommand, labelOf, taskCommandId, workflowCommandId } from '../src/verbs';
import { extensionDir, repoDir } from './paths';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const pkg: any = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
const contributed = new Set<string>(pkg.contributes.commands.map((c: { command: string }) => c.command));
const palette = new Map<string, string>(pkg.contributes.menus.commandPalette.map((m: { command: string; when: string }) => [m.command, m.when]));

test('the palette has exactly the commands of the server\'s table, enabled only while the server advertises them in a trusted workspace', () => {
  const want: string[] = [];
  for (const v of VERBS) {
    const ids = [v.task ? taskCommandId(v.verb) : undefined, v.workflow ? workflowCommandId(v.verb) : undefined].filter((x): x is string => x !== undefined);
    assert.ok(ids.length > 0, v.verb);
    for (const id of ids) {
      want.push(id);
      assert.ok(contributed.has(id), `${id} is not contributed`);
      const when = palette.get(id) ?? '';
      assert.ok(when.includes(contextKey(v.verb)) && when.includes('isWorkspaceTrusted'), `${id}: when "${when}"`);
    }
  }
  // No palette entry for a verb the server offers no way to run: a task entry
  // for a workflow-only command (Show Task Status was one) always failed.
  const verbCommands = [...contributed].filter((id) => /^pelato\.ui\.(task|workflow)\./.test(id) || id === 'pelato.ui.invoke');
  assert.deepEqual(verbCommands.sort(), want.sort());
  assert.deepEqual(
    VERBS.map((v) => v.verb),
    COMMANDS.map((c) => c.command.slice('pelato.'.length)),
  );
  // Nothing contributed under a server command's name: the language client
  // registers those, and a second registration would fail.
  for (const id of contributed) {
    assert.ok(id.startsWith('pelato.ui.'), id);
  }
});

test('the menus offer only contributed commands', () => {
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const item of items as Array<{ command?: string; submenu?: string }>) {
      if (item.command) {
        assert.ok(contributed.has(item.command), `${menu}: ${item.command}`);
      } else {
        assert.ok(pkg.contributes.submenus.some((s: { id: string }) => s.id === item.submenu), `${menu}: ${item.submenu}`);
      }
    }
  }
});

test('context keys follow the advertised commands', () => {
  const keys = contextKeys(['pelato.gen', 'pelato.deploy', 'pelato.createFile', 'other.x']);
  assert.equal(keys['pelato.can.gen'], true);
  assert.equal(keys['pelato.can.deploy'], true);
  assert.equal(keys['pelato.can.build'], false);
  assert.equal(Object.keys(keys).length, VERBS.length);
  assert.deepEqual(advertisedVerbs(['pelato.check', 'pelato.createFile', 'pelato.frobnicate', 'x.y']), ['check', 'frobnicate']);
  assert.ok(isPipelineCommand('pelato.frobnicate') && !isPipelineCommand('pelato.createFile') && !isPipelineCommand('gopls.tidy'));
  assert.equal(labelOf('gen'), 'Generate');
  assert.equal(labelOf('frobnicate'), 'Frobnicate');
});

test('the settings sent to the server are the pelato.* settings but the extension\'s own', () => {
  const keys = serverSettingKeys(pkg);
  assert.deepEqual(keys, ['debounceMs', 'checkTasksOn', 'registryUrl', 'lattice', 'natsUrl', 'kubeconfig', 'kubeContext', 'kubeNamespace', 'builder', 'latticeChecks', 'invokeTimeoutMs', 'invokeMemoryMiB', 'minSeverity', 'logLevel']);
  for (const k of EXTENSION_ONLY) {
    assert.ok(`pelato.${k}` in pkg.contributes.configuration.properties, k);
  }
  assert.equal(pkg.contributes.configuration.properties['pelato.path'].scope, 'machine');
  const values: Record<string, unknown> = { debounceMs: 300, checkTasksOn: 'save', registryUrl: 'r.example' };
  assert.deepEqual(serverSettings(keys, (k) => values[k]), values);
});

test('yamlValidation points at the schema copied from the repository at build time', () => {
  assert.deepEqual(pkg.contributes.yamlValidation, [{ fileMatch: 'workflow.yaml', url: './schemas/workflow.schema.json' }]);
  const copy = fs.readFileSync(path.join(extensionDir, 'schemas', 'workflow.schema.json'));
  const source = fs.readFileSync(path.join(repoDir, 'schemas', 'workflow.schema.json'));
  assert.ok(copy.equals(source), 'editors/vscode/schemas/workflow.schema.json differs from schemas/workflow.schema.json: run npm run build');
});

test('activation and capabilities', () => {
  assert.ok(pkg.activationEvents.includes('workspaceContains:**/workflow.yaml'));
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['pelato.path', 'pelato.kubeconfig']);
  assert.equal(pkg.main, './out/extension.js');
  for (const dep of [...Object.entries(pkg.dependencies), ...Object.entries(pkg.devDependencies)]) {
    assert.match(dep[1] as string, /^\d+\.\d+\.\d+$/, `${dep[0]} is not pinned`);
  }
});
