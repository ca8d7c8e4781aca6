/**
 * Script output as nmap's text outputs show it under a port:
 *
 * ```text
 * |_http-title: Welcome to nginx!
 * | ssh-hostkey:
 * |   256 aa:bb:… (ECDSA)
 * |_  256 cc:dd:… (ED25519)
 * ```
 *
 * @module
 */

import type { PortResult } from "../model/mod.ts";

/**
 * The `|` lines of a port's scripts, each script's last line marked `|_`.
 * The text is as the port holds it (the script engine made its controls
 * visible); each output escapes it its own way.
 *
 * @example
 * ```ts
 * import { scriptTextLines } from "./script_format.ts";
 * scriptTextLines([{ id: "http-title", output: "Home" }]); // ["|_http-title: Home"]
 * ```
 */
export function scriptTextLines(scripts: PortResult["scripts"]): string[] {
  const out: string[] = [];
  for (const script of scripts ?? []) {
    const [first = "", ...rest] = script.output.split("\n");
    const lines = [`${script.id}: ${first}`, ...rest];
    lines.forEach((line, index) => {
      out.push(`${index === lines.length - 1 ? "|_" : "| "}${line}`);
    });
  }
  return out;
}
