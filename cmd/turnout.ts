#!/usr/bin/env -S node --disable-warning=DEP0060
// turnout entry point: flags -> config -> wiring -> signals. No routing logic here;
// the wiring of each process role (single process, primary, proxy worker) is in src/workers/.
import { parseConfig } from "../src/config/flags.ts";
import { createLogger } from "../src/observability/logger.ts";
import { startTurnout } from "../src/workers/index.ts";
import type { ShutdownSignal } from "../src/workers/index.ts";

const SIGNALS: readonly ShutdownSignal[] = ["SIGTERM", "SIGINT"];

const parsed = parseConfig(process.argv.slice(2), process.env);
if (parsed.ok === "help") {
  process.stdout.write(`${parsed.text}\n`);
} else if (!parsed.ok) {
  process.stderr.write(`turnout: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join("\n")}\nSee turnout --help.\n`);
  process.exitCode = 2;
} else {
  const logger = createLogger({ level: parsed.config.logLevel });
  startTurnout(parsed.config, logger).then(
    (turnout) => {
      for (const signal of SIGNALS) process.on(signal, () => turnout.shutdown(signal));
    },
    (error: unknown) => {
      logger.error("fatal start-up error", { error });
      process.exit(1);
    },
  );
}
