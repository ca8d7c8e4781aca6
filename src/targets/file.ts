/**
 * Target lists from files (-iL, --excludefile).
 *
 * @module
 */

/**
 * Split target-list text into specs: whitespace-separated, any number a
 * line, `#` starts a comment that runs to the end of the line.
 */
export function parseTargetList(text: string): string[] {
  // A hand-rolled scan: regex splitting per line costs seconds on million-line lists.
  const specs: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? 10 : text.charCodeAt(i);
    const blank = code === 32 || (code >= 9 && code <= 13);
    if (code === 35) {
      if (start !== -1) specs.push(text.slice(start, i));
      start = -1;
      while (i < text.length && text.charCodeAt(i) !== 10) i++;
    } else if (blank) {
      if (start !== -1) specs.push(text.slice(start, i));
      start = -1;
    } else if (start === -1) {
      start = i;
    }
  }
  return specs;
}

/** The OS's words for a read failure, without Deno's "(os error 2): readfile …" tail. */
function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.indexOf(" (os error");
  return cut === -1 ? message : message.slice(0, cut);
}

/**
 * Read the specs of a target file; `-` reads standard input.
 *
 * @throws {Error} `Cannot read target file "x": No such file or directory` and the like.
 */
export async function readTargetFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = path === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read target file "${path}": ${describe(error)}`, { cause: error });
  }
  return parseTargetList(text);
}
