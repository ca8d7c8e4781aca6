/**
 * The lab's target services: listens on every given TCP port, accepts each
 * connection and closes it at once without writing anything, and prints
 * "ready" on stdout when every port is bound.
 *
 * ```sh
 * deno run --allow-net tests/lab/listener.ts --ports 22,80,443 [--host ::]
 * ```
 *
 * With the default host `::` one dual-stack socket serves IPv4 and IPv6; on
 * a system with `bindv6only=1` a second IPv4 socket is bound as well.
 *
 * @module
 */

/** Options of {@link parseListenerArgs}'s result. */
export interface ListenerArgs {
  ports: number[];
  host: string;
}

/**
 * Parses `--ports 22,80 [--host ::]`.
 *
 * @param args The command line arguments.
 * @returns The ports and the host to bind.
 */
export function parseListenerArgs(args: string[]): ListenerArgs {
  let ports: number[] | undefined;
  let host = "::";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    if (arg === "--ports" || arg === "--host") {
      if (value === undefined) throw new SyntaxError(`Cannot parse option "${arg}": value missing`);
      i++;
      if (arg === "--host") {
        host = value;
        continue;
      }
      ports = value.split(",").map((text) => {
        const port = Number(text);
        if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
          throw new RangeError(`Cannot parse port "${text}": value must be 1-65535`);
        }
        return port;
      });
    } else {
      throw new SyntaxError(`Cannot parse option "${arg}": unknown option`);
    }
  }
  if (ports === undefined || ports.length === 0) {
    throw new SyntaxError(`Cannot parse options "${args.join(" ")}": --ports is required`);
  }
  return { ports, host };
}

async function serve(listener: Deno.Listener): Promise<void> {
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return;
      // A scanner that resets right after the handshake makes accept fail
      // with ENOTCONN; that must not stop the listener.
      continue;
    }
    try {
      conn.close();
    } catch {
      // Already reset by the peer.
    }
  }
}

function listenAll(args: ListenerArgs): Deno.Listener[] {
  const listeners: Deno.Listener[] = [];
  for (const port of args.ports) {
    listeners.push(Deno.listen({ hostname: args.host, port, transport: "tcp" }));
    if (args.host === "::") {
      // Dual-stack `::` already owns the IPv4 port unless bindv6only is set.
      try {
        listeners.push(Deno.listen({ hostname: "0.0.0.0", port, transport: "tcp" }));
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
  }
  return listeners;
}

if (import.meta.main) {
  try {
    const listeners = listenAll(parseListenerArgs(Deno.args));
    console.log("ready");
    await Promise.all(listeners.map(serve));
  } catch (error) {
    console.error(`listener: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
