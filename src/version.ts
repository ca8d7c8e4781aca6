/** portolan's version, as `--version` and every output report it. */
export const VERSION = "0.1.0";
