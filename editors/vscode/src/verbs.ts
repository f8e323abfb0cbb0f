// The pipeline verbs the extension puts in the command palette and menus, from
// the server's command table (commands.json, generated from internal/lsp by
// `go test ./editors -run TestVSCodeCommandTable -update`). Each palette command
// runs the server command pelato.<verb>, for the task under the cursor when the
// server offers the command per task, for the whole workflow when it offers it
// so; it is enabled (context key pelato.can.<verb>) only while the running
// server advertises that command. Commands a newer server advertises that are
// not listed here still run from code lenses and source actions.

import table from './commands.json';

/** A command of the server's table (lsp.CommandDoc). */
export interface CommandDoc {
  /** The server command, pelato.<verb>. */
  readonly command: string;
  readonly verb: string;
  /** How titles name it: "Generate". */
  readonly label: string;
  /** Whether the server offers it for one task (source actions of a task). */
  readonly task: boolean;
  /** Whether the server offers it for the whole workflow. */
  readonly workflow: boolean;
  readonly taskLens: boolean;
  readonly workflowLens: boolean;
  /** Whether it takes an input (pelato.invoke). */
  readonly input: boolean;
}

/** The server's command table, in menu order. */
export const COMMANDS: readonly CommandDoc[] = table.commands;

/** A verb with palette commands. */
export interface Verb {
  /** The verb of the server command pelato.<verb>. */
  readonly verb: string;
  /** How titles name it: "Generate". */
  readonly label: string;
  /** Whether it has a palette command for the task under the cursor. */
  readonly task: boolean;
  /** Whether it has a palette command for the whole workflow. */
  readonly workflow: boolean;
}

/** The verbs with palette commands, in menu order: one per command of the table. */
export const VERBS: readonly Verb[] = COMMANDS.map((c) => ({ verb: c.verb, label: c.label, task: c.task, workflow: c.workflow }));

/** The id of the palette command running a verb for the task under the cursor. */
export function taskCommandId(verb: string): string {
  return verb === 'invoke' ? 'pelato.ui.invoke' : `pelato.ui.task.${verb}`;
}

/** The id of the palette command running a verb for the whole workflow. */
export function workflowCommandId(verb: string): string {
  return `pelato.ui.workflow.${verb}`;
}

/** The context key that is true while the server advertises pelato.<verb>. */
export function contextKey(verb: string): string {
  return `pelato.can.${verb}`;
}

/** The server command of a verb. */
export function serverCommand(verb: string): string {
  return `pelato.${verb}`;
}

/**
 * Whether a server command is one of pelato's pipeline commands, which the
 * extension runs itself (progress, cancellation, input prompt, outcome): every
 * pelato.<verb> but pelato.createFile, the helper of a quick fix.
 */
export function isPipelineCommand(command: string): boolean {
  return command.startsWith('pelato.') && command !== 'pelato.createFile';
}

/** The verbs of the pipeline commands among the advertised commands. */
export function advertisedVerbs(commands: readonly string[]): string[] {
  return commands.filter(isPipelineCommand).map((c) => c.slice('pelato.'.length));
}

/** The value of every pelato.can.<verb> context key for the advertised commands. */
export function contextKeys(commands: readonly string[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const v of VERBS) {
    out[contextKey(v.verb)] = commands.includes(serverCommand(v.verb));
  }
  return out;
}

/** How a title names a verb: its label, else the verb capitalised. */
export function labelOf(verb: string): string {
  const known = VERBS.find((v) => v.verb === verb);
  return known ? known.label : verb.charAt(0).toUpperCase() + verb.slice(1);
}
