/**
 * What the command talks to (stdio, environment, signal), injected so the
 * command runs in-process in tests; main.ts passes the process's own
 * ({@link processIo} in run.ts).
 *
 * @module
 */

/** What the command talks to; main.ts passes the process's own. */
export interface CliIo {
  /** Write bytes to stdout (all of them). */
  stdout(bytes: Uint8Array): Promise<void>;
  /** Write text to stderr. */
  stderr(text: string): void;
  stdoutIsTerminal: boolean;
  stderrIsTerminal: boolean;
  /** An environment variable, undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Ask a yes/no question on the terminal; absent when there is no terminal to ask on. */
  confirm?(question: string): Promise<boolean>;
  /** The working directory, undefined when not permitted; `INIT_CWD` comes first (user_paths.ts). */
  cwd?(): string | undefined;
  /** How the user runs portolan, for hints ("portolan", "deno task scan"); default "portolan". */
  command?: string;
}
