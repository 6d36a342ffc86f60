#!/usr/bin/env node
import { inspect } from 'node:util';
import type { Command } from './command.js';
import { commands } from './commands/index.js';
import { EXIT, EXIT_CODES_HELP, exitCodeOf } from './exit-codes.js';
import { applyStorageFlags, STORAGE_FLAGS_HELP } from './storage-flags.js';

// The AWS SDK (loaded lazily, on the first s3:// access) prints a multi-line notice on every s3:// command that it will require Node 22 in 2027. This CLI
// targets Node 20 on purpose (see package.json engines); the notice belongs in the README, not in every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// onnxruntime-node 1.30's telemetry (on by default on Linux) reads /proc/self/cmdline when the first session opens and
// runs a backtracking std::regex over it: a command line of ~30 KB or more (`fruits identify` with 750 photo paths)
// overflows the native stack and the process dies with SIGSEGV before any output. The CLI sends no telemetry anyway.
// Read at the first InferenceSession.create, from the real process environment (so worker threads see it too).
process.env.ORT_DISABLE_TELEMETRY ??= '1';

const HELP = `fruits — fruit image featurization (MobileNetV2 → PCA → Parquet) and the fruit app

Usage: fruits <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`fruits <command> --help\` for the options of one command.

${STORAGE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    process.stdout.write(`${process.env.npm_package_version ?? '0.1.0'}\n`);
    return 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`fruits: unknown command "${name}"\n\n${HELP}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n${STORAGE_FLAGS_HELP}\n`);
    return 0;
  }
  try {
    return await command.run(applyStorageFlags(rest));
  } catch (error) {
    const status = exitCodeOf(error);
    if (status === EXIT.usage) {
      process.stderr.write(`fruits ${command.name}: ${usageMessage(error)} (see \`fruits ${command.name} --help\`)\n`);
    } else {
      const e = error as Error;
      process.stderr.write(`fruits ${command.name}: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}\n`);
    }
    // The whole chain (each cause, its stack, its code), which the one-line message leaves out.
    if (process.env.FRUITS_DEBUG) process.stderr.write(`${inspect(error, { depth: 8 })}\n`);
    return status;
  }
}

/**
 * A bad call as one line: the message of our UsageError or of a library's InvalidOptionError (a malformed --glob,
 * --label-from, storage URI), or node:util parseArgs's TypeError (unknown option, missing or dash-leading value)
 * rewritten, whose own text is several sentences long, also when a command wrapped it in a UsageError as its cause.
 */
function usageMessage(error: unknown): string {
  const parse = [error, (error as Error).cause].find((e) => String((e as NodeJS.ErrnoException | undefined)?.code).startsWith('ERR_PARSE_ARGS_'));
  if (!parse) return (error as Error).message.split('\n')[0];
  const code = (parse as NodeJS.ErrnoException).code;
  const message = (parse as Error).message;
  const option = /'(--?[\w-]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /ambiguous/.test(message)) {
    return `${option} needs a value; one that starts with "-" is written ${option}=-…`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /argument missing/.test(message)) return `${option} needs a value`;
  return message.split('\n')[0];
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The command is done: a handle left behind (a Redis client still reconnecting, a TLS handshake that never
    // ends) must not keep the process alive, or a script waiting for the exit code waits for ever.
    setTimeout(() => process.exit(), 2000).unref();
  },
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 1;
  },
);
