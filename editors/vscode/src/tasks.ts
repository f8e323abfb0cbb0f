// Which server command runs a verb for the task under the cursor: the server
// answers with its source code actions of kind source.pelato.<verb> at the
// cursor, each carrying the command and its arguments.

/** The argument object of pelato's commands (lsp.CommandArgs). */
export interface CommandArgs {
  uri: string;
  task?: string;
  input?: string;
}

/** A server command as an LSP Command. */
export interface ServerCommand {
  title: string;
  command: string;
  arguments?: unknown[];
}

/** A code action or command as the server sends it. */
export type ActionLike = ServerCommand | { title: string; kind?: string; command?: ServerCommand };

/** The argument object of a server command, when it has one. */
export function argsOf(cmd: ServerCommand): CommandArgs | undefined {
  const a = cmd.arguments?.[0];
  if (a !== null && typeof a === 'object' && typeof (a as CommandArgs).uri === 'string') {
    return a as CommandArgs;
  }
  return undefined;
}

/** The command of a code action or command. */
function commandOf(a: ActionLike): ServerCommand | undefined {
  if (typeof a.command === 'string') {
    return a as ServerCommand;
  }
  return a.command;
}

/**
 * Sorts the actions carrying the server command name into those for one task
 * (in the server's order, one per task) and the one for the whole workflow.
 */
export function commandsFromActions(actions: readonly ActionLike[] | null | undefined, name: string): { task: ServerCommand[]; all?: ServerCommand } {
  const task: ServerCommand[] = [];
  let all: ServerCommand | undefined;
  for (const a of actions ?? []) {
    const cmd = commandOf(a);
    const args = cmd && cmd.command === name ? argsOf(cmd) : undefined;
    if (!cmd || !args) {
      continue;
    }
    if (args.task) {
      if (!task.some((c) => argsOf(c)?.task === args.task)) {
        task.push(cmd);
      }
    } else {
      all = cmd;
    }
  }
  return { task, all };
}
