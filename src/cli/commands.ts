/** The registry of subcommands, in the order `prompt-experts --help` lists them. */
import type { Command } from './command.js';
import { simulateCommand } from './simulate.js';
import { mergeCommand } from './merge.js';

export const commands: Command[] = [simulateCommand, mergeCommand];
