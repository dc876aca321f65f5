/** The registry of subcommands, in the order `prompt-experts --help` lists them. */
import type { Command } from './command.js';

export const commands: Command[] = [];
