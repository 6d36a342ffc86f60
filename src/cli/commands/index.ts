import type { Command } from '../command.js';
import { extractCommand } from './extract.js';
import { inspectCommand } from './inspect.js';
import { modelCommand } from './model.js';

/** Every subcommand, in the order `fruits --help` lists them. */
export const commands: Command[] = [extractCommand, inspectCommand, modelCommand];
