import type { Command } from '../command.js';
import { evaluateCommand } from './evaluate.js';
import { extractCommand } from './extract.js';
import { identifyCommand } from './identify.js';
import { inspectCommand } from './inspect.js';
import { modelCommand } from './model.js';
import { packCommand } from './pack.js';
import { statusCommand } from './status.js';
import { workerCommand } from './worker.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

/** Every subcommand, in the order `fruits --help` lists them. */
export const commands: Command[] = [
  extractCommand,
  workerCommand,
  statusCommand,
  inspectCommand,
  packCommand,
  modelCommand,
  trainCommand,
  serveCommand,
  identifyCommand,
  evaluateCommand,
];
